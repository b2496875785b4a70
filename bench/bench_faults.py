"""Fault campaign of issue 8, loopback only: bad inputs, faults, tasks lost, creates sent twice."""

import argparse
import io
import json
import logging.handlers
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stderr, suppress
from functools import partial
from http.server import BaseHTTPRequestHandler
from itertools import product
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from mjstudio import images  # noqa: E402
from mjstudio.api import contract, fence, prompt  # noqa: E402
from mjstudio.config import Connection, Settings  # noqa: E402
from mjstudio.mask.sizing import check_source_size  # noqa: E402
from mjstudio.server.routes import studio_routes  # noqa: E402
from mjstudio.tasks import downloads  # noqa: E402
from mjstudio.tasks.record import RecordState, TaskRecord  # noqa: E402
from mjstudio.tasks.service import Studio  # noqa: E402
from mjstudio.tasks.store import DB_NAME, TaskStore  # noqa: E402
from tests.api import servers  # noqa: E402
from tests.sandbox.server import serve_app  # noqa: E402
from tests.waiting import wait_for  # noqa: E402

KEY = "bench-faults-key-0123456789"
GRID, BOMB = servers.png((64, 64)), servers.bomb_png(rows=8)  # a result; a 9000x9500 header
TEXT, QUEUED, Refused = "text-to-image", RecordState.QUEUED, fence.FetchRefused
text_input = partial(contract.build_input, TEXT)
Case = tuple[str, str, bool, str]  # group, name, handled, what happened


def table(text: str) -> list[tuple[str, ...]]:
    """Rows of a `` | ``-separated table, one per combination of its ``; ``-separated values."""
    rows = [[cell.strip().split("; ") for cell in line.split(" | ")] for line in text.split("\n")]
    return [combination for row in rows if row != [[""]] for combination in product(*row)]


def ok(body: object, code: int = 200, **headers: str) -> tuple:
    """An HTTP answer of the scripted provider."""
    return ("http", code, body if isinstance(body, bytes) else json.dumps(body).encode(), headers)


# outbound URLs (a policy, then URLs): {url} is a loopback helper server, "-> " a redirect there
FENCE = """
strict  | {url}/img; http://localhost:{port}/img; http://2130706433:{port}/img
strict  | http://10.0.0.1/x.png; http://169.254.169.254/latest/; http://[::1]:{port}/img
strict  | http://[::ffff:127.0.0.1]:{port}/img; http://[::ffff:169.254.169.254]/
lenient | http://169.254.169.254/latest/; http://0.0.0.0:{port}/img; http:///x.png
lenient | file:///etc/passwd; gopher://127.0.0.1:70/_; javascript:alert(1); not a URL
own     | -> http://10.0.0.1/x.png; -> http://localhost:{port}/img; -> file:///etc/passwd
own     | -> http://169.254.169.254/latest/; {url}/hop/4; {url}/drip; {url}/big
"""
ROUTES = {"/img": lambda h: servers.send(h, 200, GRID), "/drip": servers.drip}  # 40 B in 8 s
ROUTES["/to"] = lambda h: servers.redirect(h, parse_qs(urlsplit(h.path).query)["u"][0])
ROUTES["/hop/"] = lambda h: servers.redirect(h, f"/hop/{int(h.path[5:]) - 1}")  # 4 redirects
ROUTES["/big"] = lambda h: servers.flood(h, total=4_000_000)  # past the 1 MB cap
# callbacks (the task, signatures, bodies); to an ended (failed) task: a replay
CALLBACKS = """
sent | none; wrong; accents; other-task | failed
sent | good | oversized; nested; [1]; <html>hi</html>; {"data": "success"}; processing
sent; unsent | good | {"taskId": "t-other", "state": "failed"}
gone | good | failed
ended | good | success
"""
BEFORE = {"sent": RecordState.PENDING, "unsent": QUEUED, "ended": RecordState.FAILED, "gone": None}
CONTRACT = """
text-to-image | {"chaos": 101}; {"chaos": -1}; {"chaos": "50"}; {"chaos": 1.5}; {"chaos": true}
text-to-image | {"stylize": -1}; {"stylize": 1001}; {"weird": 3001}; {"speed": "warp"}; {"seed": 1}
text-to-image | {"aspect": "0:1"}; {"aspect": "16:9:1"}; {"aspect": ""}; {"version": "v5"}
text-to-image | {"prompt": "   "}; {"request_type": "callback", "callback_url": "javascript:x"}
vary; upscale | {"taskId": "t", "imageIndex": 4}; {"taskId": "t", "type": 9}; {"taskId": ""}
photo; image-to-image | {}; {"image_urls": ["file:///etc/passwd"]}; {"image_urls": ["js:x"]}
upload-paint | {"image_urls": ["https://x.t/a"]}; {"image_urls": ["https://x.t/a"], "mask": {}}
upload-paint | {"image_urls": ["https://x.t/a"], "mask": {"url": "javascript:x"}}
"""
PROMPTS = "--c 101|--chaos -5|--s 1001|--w 3001|--ar 0:1|--ar 16/9|--v 5|--niji 3|--c|--c abc"
PROMPTS += "|--s 1e3|--c 10 --c 20|\u2014c 101|--ar 16:9:1|--stylize 99999999999999999999999"
META = {"data": {"state": "success", "resultUrls": ["http://169.254.169.254/"]}}
ANSWERS = {"500": ok({"code": 500}, 500), "401": ok({"code": 401}, 401), "drop": ("drop",)}
ANSWERS |= {"hang": ("hang", 3.0), "no-id": ok({"data": {}}), "meta": ok(META)}
ANSWERS |= {"429/1": ok({}, 429, Retry_After="1"), "429/3600": ok({}, 429, Retry_After="3600")}
ANSWERS |= {"html": ok(b"<html><body>Sign in</body></html>"), "404": ok(b"gone", 404)}
ANSWERS |= {"garbage": ok(b'{"code": 200, "data": {'), "other": ok({"data": {"taskId": "x"}})}
ANSWERS |= {"410": ok(b"gone", 410), "cut": ok(GRID[: len(GRID) // 2]), "bomb": ok(BOMB)}
ANSWERS |= {"oops": ok(b"oops", 500), "big": ok(b"\0" * 1_500_000)}  # 1.5 MB: over the cap
# a task per fault, named by its prompt: the call, what its record must say, healed after?
FAULTS = """
create | unsure   | no   | answers 500=500; times out=hang; dropped=drop; 200 without taskId=no-id
create | refused  | no   | 401=401
create | done     | once | 429 Retry-After 1=429/1
status | error    | yes  | HTML=html; garbage JSON=garbage; of another task=other; 500=500
status | error    | yes  | dropped=drop; 401=401
status | 3600     | yes  | 429 Retry-After 3600=429/3600
status | gave up  | no   | with a result URL at the metadata address=meta
result | gave up  | yes  | 404=404; 410=410; 500=oops; HTML=html; truncated PNG=cut
result | gave up  | yes  | pixel bomb=bomb; hangs=hang; past the byte cap=big
"""
FAULT_ROWS = {  # name -> (phase, answer, what the record must say, healed afterwards)
    f"{phase} {fault.split('=')[0]}": (phase, ANSWERS[fault.split("=")[1]], shows, heal)
    for phase, shows, heal, fault in table(FAULTS)
}
SHOWS: dict[str, Callable[[TaskRecord], bool]] = {  # the record says what happened
    "unsure": lambda r: r.state is RecordState.UNKNOWN and bool(r.error),
    "refused": lambda r: r.state is RecordState.REJECTED and bool(r.error),
    "error": lambda r: not r.is_final and bool(r.error),
    "3600": lambda r: not r.is_final and "120 s" in (r.error or "") and "3600" in (r.error or ""),
    "gave up": lambda r: r.download_gave_up and bool(r.download_error),
    "done": lambda r: r.is_done,
}


def plain(text: str) -> bool:
    """A clear message: said, short, no traceback, no server path, no key."""
    leaks = ("Traceback", 'File "', str(REPO), tempfile.gettempdir(), KEY, "site-packages")
    return bool(text.strip()) and len(text) < 600 and not any(x in text for x in leaks)


def refused(group: str, name: str, call: Callable[[], object], expected: type) -> Case:
    """Handled when ``call`` raises ``expected`` with a plain message."""
    try:
        got = call()
    except expected as exc:
        return group, name, plain(text := str(getattr(exc, "message", "") or exc)), repr(text)
    except Exception as exc:  # noqa: BLE001 - that is the finding
        return group, name, False, f"raised {type(exc).__name__}: {exc}"
    return group, name, False, f"accepted: {str(got)[:80]!r}"


def status_body(state: str, task_id: str, host: str = "127.0.0.1:9") -> bytes:
    """A provider's status object (a callback body, or a status answer's data)."""
    urls = json.dumps({"resultUrls": [f"http://{host}/r/{task_id}.png"]})
    return json.dumps({"taskId": task_id, "state": state, "resultJson": urls}).encode()


def started(folder: Path, conn: Connection) -> Studio:
    """A Studio of a data folder (nothing from this machine's environment), tracking ``conn``."""
    studio = Studio(Settings.load(environ={}, data_dir=folder))
    studio.connect(conn)
    studio.tracker.start()
    return studio


def settle(store: TaskStore, ids: dict[str, str], met: Callable, timeout: float = 60.0) -> set:
    """The names whose record (``ids``: name -> record id) meets ``met`` once all do, or later."""
    with suppress(AssertionError):
        wait_for(lambda: all(met(n, store.get(i)) for n, i in ids.items()), timeout=timeout)
    return {n for n, i in ids.items() if met(n, store.get(i))}


class Provider:
    """A loopback task API: a task per prompt, faults by prompt; counts creates and results."""

    def __init__(self) -> None:
        self.faults = {name: (row[0], row[1]) for name, row in FAULT_ROWS.items()}
        self.left = Counter({n: 1 if row[3] == "once" else 10**6 for n, row in FAULT_ROWS.items()})
        self.creates, self.results, self.prompts = Counter(), Counter(), {}  # task id -> prompt
        self.lock = threading.Lock()

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        """Answer a create, status or result download, as the task's fault says."""
        url = urlsplit(h.path)
        path, query, host = url.path, parse_qs(url.query), h.headers["Host"]
        phase = {contract.CREATE_PATH: "create", contract.STATUS_PATH: "status"}.get(path, "result")
        with self.lock:
            task_id = query["taskId"][0] if "taskId" in query else path[3:-4]
            if phase == "create":
                task_id = f"t{len(self.prompts)}"
                self.prompts[task_id] = json.loads(h.rfile.read(int(h.headers["Content-Length"])))
            name = self.prompts.get(task_id, {}).get("input", {}).get("prompt", "")
            normal = {"create": ok({"data": {"taskId": task_id}}), "result": ok(GRID)}
            normal["status"] = ok(b'{"data": %s}' % status_body("success", task_id, host))
            when, answer = self.faults.get(name, ("", None))
            faulty = when == phase and self.left[name] > 0
            self.left[name] -= faulty
            answer = answer if faulty else normal[phase]
            if phase == "create":  # a refused create made no task
                self.creates[name] += not (answer[0] == "http" and 400 <= answer[1] < 500)
            self.results[name] += phase == "result" and not faulty
        if answer[0] == "http":
            return servers.send(h, answer[1], answer[2], **answer[3])
        time.sleep(answer[1] if answer[0] == "hang" else 0)  # then the connection is dropped
        h.close_connection = True


class Campaign:
    """Every case of the run, every task submitted, the scripted provider, a scratch folder."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.provider, self.cases = tmp, Provider(), list[Case]()
        self.ids: list[str] = []  # every task submitted, for "tasks lost"

    def fence(self) -> None:
        """Outbound URLs: addresses, schemes, redirects, a drip, floods; open vs closed ports."""
        policy = partial(fence.FencePolicy, deadline_s=1.0, max_bytes=1_000_000)
        kinds = {"strict": policy(), "lenient": policy(allow_private=True)}
        kinds["own"] = policy(own_hosts={"127.0.0.1"})  # the provider's own host
        fences = {kind: fence.Fence(each) for kind, each in kinds.items()}
        with servers.serve(ROUTES) as (url, _), servers.not_http() as open_port:
            for kind, name in table(FENCE):
                target = name.format(url=url, port=url.rsplit(":", 1)[1])
                if target.startswith("-> "):
                    target = f"{url}/to?u={quote(target[3:], safe='')}"
                call = partial(fences[kind].fetch, target)
                self.cases.append(refused("fence", f"{kind} {name}", call, Refused))
            urls = [f"http://127.0.0.1:{p}/" for p in (open_port, servers.closed_port())]
            said = {refused("", "", partial(fences["lenient"].fetch, u), Refused)[3] for u in urls}
        self.cases.append(("fence", "open and closed ports told apart", len(said) == 1, str(said)))
        for each in fences.values():
            each.close()

    def callbacks(self) -> None:
        """Callback bodies and signatures against the studio's route, served by uvicorn."""
        studio = Studio(Settings.load(environ={}, data_dir=self.tmp / "callbacks"))  # untracked
        with serve_app(Starlette(routes=studio_routes(lambda: studio))) as base:
            mode = {"request_type": "callback", "callback_base": base}
            conn = Connection("http://127.0.0.1:9", KEY, **mode)
            for before, sig, body in table(CALLBACKS):
                self.callback(studio, conn, before, sig, body)

    def callback(self, studio: Studio, conn: Connection, before: str, sig: str, body: str) -> None:
        """One callback: handled when it gets a 4xx with a plain message, the task unchanged."""
        tid, expected = "t-1", BEFORE[before]  # the task's state, before and after
        record = TaskRecord.new(conn.workspace, {}, state=expected or RecordState.PENDING)
        record.task_id = None if expected is QUEUED else tid
        rid = studio.store.add(record).id if expected else "no-such-task"
        url, other = ((studio.callback_url(conn, i) or "").split("?sig=") for i in (rid, "x"))
        sigs = {"wrong": "0" * 32, "accents": "é" * 32, "good": url[1], "other-task": other[1]}
        params = {"sig": sigs[sig]} if sig in sigs else {}
        post = partial(httpx.post, url[0], params=params, timeout=10)
        bodies = {"oversized": json.dumps({"taskId": tid, "pad": "x" * 300_000}).encode()}
        bodies |= {"nested": b"[" * 100_000 + b"]" * 100_000}
        state_word = body in ("failed", "success", "processing")
        answer = post(content=bodies.get(body) or (status_body(body, tid) if state_word else body))
        after, code = studio.store.get(rid), answer.status_code
        kept = (after.state if after else None) == expected
        good, name = 400 <= code < 500 and plain(answer.text) and kept, f"{before} task, {sig} sig"
        self.cases.append(("callback", f"{name}, {body}", good, f"{code} {answer.text[:80]!r}"))

    def values(self) -> None:
        """Request values (build_request), prompts' inline flags (parse_prompt), uploads
        (check_upload, Paint's size check) and the upright and encode helpers."""
        for mode, one in table(CONTRACT):
            base = {"prompt": "a fox"} if mode in (TEXT, "image-to-image", "upload-paint") else {}
            call = partial(contract.build_request, mode, **base | json.loads(one))
            self.cases.append(refused("request", f"{mode} {one}", call, ValueError))
        for text in PROMPTS.split("|"):  # inline flags out of range: each must be said
            errors = prompt.parse_prompt(f"a red fox {text}").errors
            said = bool(errors) and all(map(plain, errors))
            self.cases.append(("prompt", text, said, str(errors)))
        exif, noise = Image.Exif(), Image.effect_noise((600, 400), 60)
        exif[0x0112] = 6  # "turn me a quarter"
        noise.convert("RGB").save(out := io.BytesIO(), "JPEG", exif=exif)
        turned = out.getvalue()[:3000]  # says "turn me", its pixels cut off
        Image.new("P", (9, 9)).save(gif := io.BytesIO(), "GIF")
        svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9"/>'
        uploads = {"empty bytes": b"", "HTML page": b"<!doctype html><html>hi</html>", "SVG": svg}
        uploads |= {"truncated PNG": GRID[: len(GRID) // 2], "bomb header (86 MP)": BOMB}
        uploads |= {"400 MP header": servers.bomb_png(20_000, 20_000, rows=1)}
        uploads |= {"GIF": gif.getvalue(), "HEIC": b"\0\0\0\x18ftypheic\0\0mif1heic" + b"\0" * 64}
        uploads |= {"over 10 MB": b"\0" * 10_000_001, "truncated turned JPEG": turned}
        calls = {n: partial(images.check_upload, "a.png", d) for n, d in uploads.items()}
        one = images.image_size(servers.png((1, 1)))  # an upload check_upload takes: 1x1
        calls["Paint: a 1x1 image"] = partial(check_source_size, *one)
        calls["upright: truncated turned JPEG"] = partial(images.upright, turned)
        calls["encode_to_fit: noise into 1 KB"] = partial(images.encode_to_fit, noise, 1000)
        calls["display_copy: bomb"] = partial(images.display_copy, BOMB, 800)
        calls["data: URL, bad base64"] = partial(images.data_url_bytes, "data:image/png;base64,@")
        self.cases += [refused("image", name, call, ValueError) for name, call in calls.items()]

    def stopped(self, folder: Path, conn: Connection) -> tuple[list, list, bool]:
        """A studio stopped with two creates in flight (they end, unknown) and two queued."""
        held = [f"held create {i}" for i in (1, 2)]  # past the client's timeout, then dropped
        for name in held:
            self.provider.faults[name], self.provider.left[name] = ("create", ("hang", 6.0)), 1
        first = started(folder, conn)
        sending = [first.submit(conn, text_input(prompt=p)) for p in held]
        wait_for(lambda: all(self.provider.creates[p] for p in held), timeout=10)
        queued = [first.submit(conn, text_input(prompt=f"queued at stop {i}")) for i in (1, 2)]
        first.tracker.stop()
        return sending, queued, all(first.store.get(r.id).state is QUEUED for r in queued)

    def process_faults(self, conn: Connection) -> None:
        """Stops and kills with tasks queued or being sent, then two studios on one folder."""
        folder, c, got = self.tmp / "proc", self.provider.creates, self.provider.results
        sending, queued, queued_ok = self.stopped(folder, conn)
        store = TaskStore.open(folder)  # what a kill -9 leaves: a task queued, one being sent
        made = [contract.build_request(TEXT, prompt=p).to_api() for p in ("killed 1", "killed 2")]
        kill_queued = store.add(TaskRecord.new(conn.workspace, made[0], state=QUEUED))
        kill_mid = store.add(TaskRecord.new(conn.workspace, made[1], state=RecordState.CREATING))
        second, third = started(folder, conn), started(folder, conn)
        elsewhere = third.submit(conn, text_input(prompt="sent through the second studio"))
        ends = {r.id: SHOWS["unsure"] for r in [*sending, kill_mid]}
        ends |= {r.id: SHOWS["done"] for r in [*queued, kill_queued, elsewhere]}
        ended = settle(second.store, {i: i for i in ends}, lambda i, r: ends[i](r))
        roles = second.tracker.running and third.tracker.running  # both track, sharing the work
        for studio in (second, third):
            studio.tracker.stop()
        settle(store, {r.id: r.id for r in sending}, lambda _, r: "answer" in (r.error or ""), 8)
        sent = [*queued, *sending, kill_queued, elsewhere]
        once = {r.prompt: r.id in ended and c[r.prompt] == 1 >= got[r.prompt] for r in sent}
        cases = {
            "stopped with tasks queued": queued_ok and all(once[r.prompt] for r in queued),
            "stopped with creates in flight": all(once[r.prompt] for r in sending),
            "killed with a task queued": once[kill_queued.prompt],
            "killed mid-send": kill_mid.id in ended and c[kill_mid.prompt] == 0,
            "two studios on one folder": roles and once[elsewhere.prompt],
        }
        counts = [(c[p], got[p]) for p in once]
        what = f"{len(ended)}/{len(ends)} ended; both tracking: {roles}; creates, results {counts}"
        self.cases += [("process", name, good, what) for name, good in cases.items()]
        self.ids += ends

    def faults(self) -> None:
        """Every provider fault on its own task, all at once (each shows, is healed and asked
        again, and ends); then the process faults and a studio on a garbage database."""
        downloads.BACKOFF_S, downloads.BACKOFF_FACTOR, downloads.MAX_ATTEMPTS = 0.05, 2.0, 3
        (self.tmp / "damaged").mkdir()
        (self.tmp / "damaged" / DB_NAME).write_bytes(b"not a database at all " * 200)
        with servers.serve({"/": self.provider}) as (url, _):
            limits = {"timeout_s": 1.5, "fetch_timeout_s": 1.0, "max_result_mb": 1.0}
            conn = Connection(url, KEY, poll=(0.1, 0.1), **limits)
            studio, rows = started(self.tmp / "faults", conn), FAULT_ROWS
            ids = {name: studio.submit(conn, text_input(prompt=name)).id for name in rows}
            shown = settle(studio.store, ids, lambda n, r: SHOWS[rows[n][2]](r))
            said = {n: studio.store.get(i) for n, i in ids.items()}  # what each task said
            for name in (n for n in shown if rows[n][3] == "yes"):
                self.provider.left[name] = 0
                again = studio.download_again if rows[name][0] == "result" else studio.check_again
                again(ids[name])
            ended = settle(studio.store, ids, lambda n, r: rows[n][3] == "no" or r.is_done)
            running = studio.tracker.running
            studio.tracker.stop()
            slow = Connection(url, KEY, poll=(0.1, 0.1), timeout_s=4.0)  # < a held create
            self.process_faults(slow)
            fresh = started(self.tmp / "damaged", slow)
            self.ids += [*ids.values(), fresh.submit(slow, text_input(prompt="after damage")).id]
            done = settle(fresh.store, {"x": self.ids[-1]}, lambda _, r: r.is_done)
            fresh.tracker.stop()
        for name, rid in ids.items():
            r, n, s = studio.store.get(rid), self.provider.creates[name], said[name]
            what = f"said {s.error or s.download_error!r}; then {r.state}; creates {n}"
            good = {name} <= shown & ended and n < 2 and running
            self.cases.append(("provider", name, good, what))
        note = fresh.store.recovery_note() or ""
        good = fresh.store.recovered_from is not None and plain(note) and bool(done)
        self.cases.append(("process", "damaged database", good, f"note {note!r}"))


def report(label: str, cases: list[Case], verbose: bool) -> None:
    """A figure line (per group in brackets), then the cases not handled (all with verbose)."""
    groups, bad = Counter(c[0] for c in cases), Counter(c[0] for c in cases if not c[2])
    per = ", ".join(f"{g} {n - bad[g]}/{n}" for g, n in groups.items())
    print(f"{label}: {len(cases)} / {len(cases) - bad.total()}  ({per})")
    for group, name, good, what in (c for c in cases if verbose or not c[2]):
        print(f"  {'ok' if good else 'NOT OK'}: {group} / {name}: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every case")
    verbose, start = parser.parse_args().verbose, time.perf_counter()
    logging.getLogger("mjstudio").addHandler(logged := logging.handlers.BufferingHandler(10**6))
    with tempfile.TemporaryDirectory() as tmp, redirect_stderr(io.StringIO()):  # servers' noise
        run = Campaign(Path(tmp))
        for group in (run.fence, run.callbacks, run.values, run.faults):
            group()
        stores = [TaskStore.open(run.tmp / f) for f in ("faults", "proc", "damaged")]
        stored = {i: r for store in stores for i in run.ids if (r := store.get(i))}
        told = {i for i, r in stored.items() if r.is_done or r.error or r.download_error}
    missing = [f"{i}: {stored.get(i)}" for i in run.ids if i not in told]  # lost, or unexplained
    faults = [c for c in run.cases if c[0] in ("provider", "process")]
    inputs = [c for c in run.cases if c not in faults]
    report("bad inputs tried / handled with a clear message", inputs, verbose)
    report("faults injected / survived", faults, verbose)
    print(f"tasks lost: {len(missing)} (of {len(run.ids)} submitted)", *missing, sep="\n  LOST: ")
    twice, creates = sum(max(0, n - 1) for n in run.provider.creates.values()), run.provider.creates
    print(f"creates sent twice: {twice} ({creates.total()} creates reached the provider)")
    errors = [r.getMessage()[:120] for r in logged.buffer if r.levelno >= logging.ERROR]
    print(f"errors logged by the studio: {len(errors)}", *errors, sep="\n  ")
    print(f"run time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
