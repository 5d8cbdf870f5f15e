"""Jupyter's kernel conformance suite (jupyter_kernel_test) run on the tsdl kernel.

Every sample KernelTests supports is filled in. Run by test/kernel/conformance.test.ts with the
tsdl kernelspec installed into a temporary prefix (JUPYTER_PATH points there):

    JUPYTER_PATH=PREFIX/share/jupyter /usr/bin/python3 test/kernel/conformance.py -v
"""

import time
from queue import Empty
import unittest

import jupyter_kernel_test
import zmq
from jupyter_client.session import Session
from jupyter_kernel_test.msgspec_v5 import validate_message

# The first cell waits for the kernel's preload (TypeScript, tf and dl); on a busy machine that
# can take longer than the suite's 15 s per reply.
WARM_UP_TIMEOUT = 180


class TsdlKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tsdl"
    language_name = "typescript"
    file_extension = ".ts"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reply = cls.kc.execute_interactive("1", timeout=WARM_UP_TIMEOUT, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'

    completion_samples = [
        # A member of the preloaded library, completed by TypeScript's language service.
        {"text": "dl.initBack", "matches": {"initBackend"}},
        {"text": "const alpha_value = 1; alpha_v", "matches": {"alpha_value"}},
    ]

    complete_code_samples = [
        "1",
        "console.log('hi')",
        "const x = 1;",
        "function f(a: number) {\n  return a + 1;\n}",
        "",
    ]
    incomplete_code_samples = [
        "function f() {",
        "console.log(`hello ",
        "const a = [1,",
        "/* a comment",
        "if (true) {\n  console.log(1);",
    ]
    invalid_code_samples = [
        "const = 7q",
        "1 +* 2",
        "let y = 1; }",
    ]

    code_page_something = "?dl.initBackend"

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "[1, 2, 3].map((v) => v * 2)", "result": "[ 2, 4, 6 ]"},
        {"code": "dl.plot.table([\"class\", \"count\"], [[\"<b>\", 1]])", "mime": "text/html"},
        {"code": "String(dl.backendInfo()) === dl.toBundle(dl.backendInfo())[\"text/plain\"]", "result": "true"},
    ]

    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display.latex("$e^{i\\\\pi} + 1 = 0$")', "mime": "text/latex"},
        {"code": 'display.markdown("**bold**")', "mime": "text/markdown"},
    ]

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 * 7"

    code_inspect_sample = "dl.initBackend"

    code_clear_output = 'console.log("soon gone"); display.clear({ wait: true })'

    def test_iopub_welcome(self):
        """JEP 65: a new iopub subscriber gets `iopub_welcome` naming its subscription."""
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        # A session of its own: the client's session remembers each signature it has seen and
        # would refuse the same welcome arriving on its own iopub channel as a replay.
        session = Session(key=self.kc.session.key, signature_scheme=self.kc.session.signature_scheme)
        try:
            sub.linger = 0
            sub.connect(f"{self.km.transport}://{self.km.ip}:{self.km.iopub_port}")
            topic = b"iopub_welcome"
            sub.setsockopt(zmq.SUBSCRIBE, topic)
            deadline = time.monotonic() + 10
            while True:
                left = deadline - time.monotonic()
                self.assertGreater(left, 0, "no iopub_welcome within 10 s of subscribing")
                if not sub.poll(int(left * 1000)):
                    continue
                frames = sub.recv_multipart()
                idents, rest = session.feed_identities(frames)
                msg = session.deserialize(rest)
                if msg["header"]["msg_type"] == "iopub_welcome":
                    break
            self.assertEqual(idents, [topic])
            self.assertEqual(msg["content"], {"subscription": "iopub_welcome"})
            self.assertEqual(msg["parent_header"], {})
        finally:
            sub.close()
            # The suite's own client (subscribed to every topic) got the welcome too; this
            # release's validator does not know iopub_welcome, so empty its channel here.
            while True:
                try:
                    self.kc.get_iopub_msg(timeout=1)
                except Empty:
                    break

    def test_pager_unknown_name(self):
        """A pager request for a name that does not exist says so on stdout, with no payload."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper("no_such_name_here?")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(reply["content"]["payload"], [])
        text = "".join(m["content"]["text"] for m in output_msgs if m["msg_type"] == "stream")
        self.assertIn("Object `no_such_name_here` not found.", text)

    def test_pager_holds_the_docs(self):
        """The page shows the signature and the TSDoc of the name, as inspect_request gives them."""
        self.flush_channels()
        reply, _ = self.execute_helper("dl.initBackend?")
        [page] = reply["content"]["payload"]
        self.assertIn("initBackend(options?", page["data"]["text/plain"])
        msg_id = self.kc.inspect("dl.initBackend")
        inspected = self.get_non_kernel_info_reply(timeout=15)
        validate_message(inspected, "inspect_reply", msg_id)
        self.assertEqual(page["data"]["text/plain"], inspected["content"]["data"]["text/plain"])

    def test_is_complete_indent(self):
        """Incomplete code gets the next line's indent: one step deeper after an open bracket."""
        for code, indent in [("function f() {", "  "), ("if (a) {\n  for (;;) {", "    "), ("console.log(`x", "")]:
            with self.subTest(code=code):
                msg_id = self.kc.is_complete(code)
                reply = self.get_non_kernel_info_reply(timeout=15)
                validate_message(reply, "is_complete_reply", msg_id)
                self.assertEqual(reply["content"], {"status": "incomplete", "indent": indent})


if __name__ == "__main__":
    unittest.main()
