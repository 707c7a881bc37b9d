"""A program forked from the tests' fork server (tests/forked.py) behaves as in a fresh ``python``.

Most lesson runs and every TensorBoard in the tests start that way, so what they show holds for a user's
``python mnist_tsne.py`` only if the two agree: output, exit status, arguments, folder, environment, import
path and the way out. Each program here runs both ways and must say the same. (What a fork cannot show,
which libraries a script loads, tests/test_layout.py checks in a fresh Python.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import forked
import pytest

pytestmark = pytest.mark.slow  # the fork server imports TensorFlow first

PROGRAMS = {
    "exit status": "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)",
    "exit with a message": "import sys; sys.exit('one clear line')",
    "uncaught exception": "def fail():\n    raise ValueError('bad')\nfail()",
    "uncaught Ctrl-C": "import atexit; atexit.register(lambda: print('atexit ran'))\nraise KeyboardInterrupt",
    "atexit and threads": (
        "import atexit, threading, time\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread finished'))).start()\n"
    ),
    "where it runs": (
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv, 'cwd': os.getcwd(), 'path0': sys.path[0], 'main': __name__,\n"
        "                  'env': os.environ.get('FORKED_TEST'), 'has_tests_dir': any(p.endswith('tests')\n"
        "                  for p in sys.path)}))\n"
    ),
    "a module beside it": "import beside; print(beside.__file__)",
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_forked_program_says_what_a_fresh_python_says(name, tmp_path):
    script = tmp_path / "scripts" / "program.py"
    script.parent.mkdir()
    script.write_text(PROGRAMS[name])
    (script.parent / "beside.py").write_text("")  # the script's folder comes first on the import path
    environment = {**os.environ, "FORKED_TEST": "seen"}
    fresh = subprocess.run([sys.executable, str(script), "a b", "c"], cwd=tmp_path, env=environment,
                           capture_output=True, text=True, timeout=120)
    assert forked.available()
    fork = forked.run([str(script), "a b", "c"], cwd=tmp_path, env=environment, timeout=120)
    assert (fork.returncode, fork.stdout, fork.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
