import json

import numpy as np
import pytest

from vr_brian.io import atomic_write, write_json


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    write_json(path, {"a": np.float32(1.5), "b": np.arange(2), "c": float("nan")})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1], "c": None}

    def crash(file):
        file.write(b"{partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert json.loads(path.read_text())["a"] == 1.5
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
