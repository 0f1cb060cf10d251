import cProfile, pstats, time, io
from tests.builders import ean_for
from tests.web.test_floor_tasks import HX, operator, scan, site, task_from  # noqa

def test_prof(app, operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    for _ in range(20):
        scan(operator, tid, ean_for(2))
    n = 300
    t = time.perf_counter()
    for _ in range(n):
        scan(operator, tid, ean_for(2))
    el = (time.perf_counter() - t) / n * 1000
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        scan(operator, tid, ean_for(2))
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s).sort_stats("cumulative")
    st.print_stats(70)
    open("/tmp/prof.txt", "w").write(f"ms/scan {el:.2f}\n" + s.getvalue())
    st.dump_stats("/tmp/prof.out")
