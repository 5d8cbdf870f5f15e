"""Answer the tsdl kernel's input_request the way jupyter console and the classic Notebook do.

jupyter_client's `KernelClient.input()` sends `input_reply` with an empty parent_header (it does
not name the request it answers). Run by test/kernel/stdin.test.ts with JUPYTER_PATH pointing at a
temporary prefix holding the tsdl kernelspec; prints one JSON object with what it saw.
"""

import json
import sys

from jupyter_client.manager import start_new_kernel

# Generous: the first cell waits for the kernel's preload, slow on a busy machine.
TIMEOUT = 240


def main():
    km, kc = start_new_kernel(kernel_name="tsdl", startup_timeout=TIMEOUT)
    seen = {}
    try:
        code = 'const name = await dl.input("Name? ");\nconsole.log(`hello ${name}`);\nname.length'
        msg_id = kc.execute(code, allow_stdin=True)
        request = kc.get_stdin_msg(timeout=TIMEOUT)
        seen["request"] = {"msg_type": request["header"]["msg_type"], "content": request["content"]}
        kc.input("Ada Lovelace")
        sent = kc.session.msg("input_reply", {"value": "x"})
        seen["input_reply_parent_header"] = sent["parent_header"]
        # On a busy machine wait_for_ready may have sent several kernel_info_requests; skip
        # their late replies (as jupyter_kernel_test's get_non_kernel_info_reply does).
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        while reply["msg_type"] == "kernel_info_reply":
            reply = kc.get_shell_msg(timeout=TIMEOUT)
        seen["reply"] = {"parent": reply["parent_header"]["msg_id"] == msg_id, "status": reply["content"]["status"]}
        stdout, result = "", None
        while True:
            # Until this request's status idle (it comes after its outputs).
            msg = kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                stdout += msg["content"]["text"]
            elif msg["msg_type"] == "execute_result":
                result = msg["content"]["data"]["text/plain"]
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        seen["stdout"] = stdout
        seen["result"] = result
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    json.dump(seen, sys.stdout)


if __name__ == "__main__":
    main()
