"""python -m synth [OUT_DIR [ENTRIES [SEED]]]: without arguments, regenerate the bundled sample."""

import sys
from pathlib import Path

from synth import generate, write_sample

args = sys.argv[1:]
r = generate(Path(args[0]), *(int(a) for a in args[1:3])) if args else write_sample()
print(f"{r.entries} entries, {sum(r.rows_by_file.values())} rows in {len(r.files)} files, {r.seconds} s")
