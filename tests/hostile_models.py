"""Model files someone could put in place of ours: loading them the unsafe way runs code.

Each payload creates the file ``marker`` when loaded as its format allows: a pickle whose
unpickling calls ``open(marker, "w")`` (what ``joblib.load`` or ``pickle.load`` runs), and a
skops archive of one of our models in which the Pipeline's ``memory`` is an object built by
calling ``builtins.open(marker, "w")`` (what ``skops.io.loads`` runs once that type is
trusted). :func:`assert_runs_code` shows it; tests then assert that the marker never appears.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path


class _OpensWhenUnpickled:
    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def pickle_payload(marker: Path, model: bytes) -> bytes:
    """A pickle that creates ``marker`` when unpickled (``model`` is not used)."""
    return pickle.dumps(_OpensWhenUnpickled(marker))


def _json_node(value: object) -> dict:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
    }


def skops_payload(marker: Path, model: bytes) -> bytes:
    """The skops archive ``model`` (a saved Pipeline) with a node that creates ``marker``."""
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    schema["content"]["content"]["memory"] = {
        "__class__": "open",
        "__module__": "builtins",
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [_json_node(str(marker)), _json_node("w")],
        },
    }
    files["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


PAYLOADS = {"pickle": pickle_payload, "skops": skops_payload}


def assert_runs_code(kind: str, payload: bytes, marker: Path) -> None:
    """Load ``payload`` the unsafe way, check that it created ``marker``, and remove it."""
    assert not marker.exists()
    if kind == "pickle":
        pickle.loads(payload).close()
    else:
        import skops.io

        assert "builtins.open" in skops.io.get_untrusted_types(data=payload)
        loaded = skops.io.loads(payload, trusted=skops.io.get_untrusted_types(data=payload))
        assert loaded.named_steps  # a Pipeline all the same
        loaded.memory.close()
    assert marker.exists(), f"the {kind} payload did not run its code"
    marker.unlink()
