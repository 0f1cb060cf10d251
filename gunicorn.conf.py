"""gunicorn reads this file from the directory it starts in (`make run`, the benches, the crash tests).

Each worker process starts the app's worker threads as soon as it has loaded the app, so that
webhooks waiting in the outbox go out after a restart without waiting for a first request.
"""


def post_worker_init(worker):
    from app import start_workers

    start_workers(worker.wsgi)
