"""Runs one command on a pseudo-terminal and answers its prompts, for tests of
what a person at a terminal sees (e.g. that a secret is not echoed).

stdin: JSON {"argv": [...], "cwd": DIR, "env": {...}, "steps": [{"expect": TEXT, "send": TEXT}, ...], "timeout": SECONDS}
Each step waits until TEXT has appeared in the output since the previous step, then types SEND.
stdout: JSON {"output": everything the terminal showed, "code": exit status, "missed": the step text not seen, or null}
"""
import json
import os
import pty
import select
import sys
import time

spec = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec["cwd"])
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])

out = b""
deadline = time.time() + spec.get("timeout", 60)


def read_some(wait):
    global out
    r, _, _ = select.select([fd], [], [], wait)
    if not r:
        return True
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    out += data
    return True


missed = None
seen_upto = 0
for step in spec["steps"]:
    want = step["expect"].encode()
    while out.find(want, seen_upto) < 0:
        if time.time() > deadline or not read_some(0.2):
            missed = step["expect"]
            break
    if missed is not None:
        break
    seen_upto = out.find(want, seen_upto) + len(want)
    time.sleep(0.3)  # the program switches the terminal's mode right after its prompt
    os.write(fd, step["send"].encode())

while time.time() < deadline and read_some(0.5):
    pass
if time.time() >= deadline:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"output": out.decode("utf8", "replace"), "code": code, "missed": missed}))
