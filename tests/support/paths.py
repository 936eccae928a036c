"""Where the project, its bundled example and the shared corpus are."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ml_pipeline.asl.json"

# ../shared/corpus beside the project; SFN_CACHE_CORPUS names it from a checkout elsewhere (a worktree)
CORPUS = Path(os.environ.get("SFN_CACHE_CORPUS") or ROOT.parent / "shared" / "corpus")
