"""One loader for check-policy, explain, test-policy and the worker (start-up and reload),
so a file that passes the check is exactly a file the worker accepts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import ValidationError

from eventyard.errors import PolicyError, PolicyProblem
from eventyard.policy.compile import compile_policy
from eventyard.policy.compiled import CompiledPolicy
from eventyard.policy.lint import lint
from eventyard.policy.schema import Destination, PolicyFile
from eventyard.policy.yamlsource import SourceMap, load_yaml

HMAC_KEY_ENV = "EVENTYARD_HMAC_KEY"


def policy_version(data: bytes) -> str:
    """Content hash: the same bytes are the same version on every worker."""
    return hashlib.sha256(data).hexdigest()[:12]


def _hmac_key_from_env() -> bytes | None:
    key = os.environ.get(HMAC_KEY_ENV)
    if key:
        return key.encode()
    key_file = os.environ.get(HMAC_KEY_ENV + "_FILE")
    if key_file:
        return Path(key_file).read_bytes().strip()
    return None


def parse_policy(
    data: bytes, file: str, hmac_key: bytes | None = None
) -> CompiledPolicy:
    """bytes of a policy file -> compiled policy, or PolicyError listing every problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError([PolicyProblem(file, 1, "", "the file is not UTF-8")]) from None
    raw, smap, problems = load_yaml(text, file)
    if raw is None:
        raise PolicyError(problems)
    if not isinstance(raw, dict):
        raise PolicyError([*problems, smap.problem((), "the policy must be a mapping")])
    model: PolicyFile | None = None
    try:
        model = PolicyFile.model_validate(raw)
        destinations = model.destinations
    except ValidationError as exc:
        problems += _structural(exc, smap)
        # Keep going: lint every destination that is well-formed on its own, so one run
        # reports every problem in the file, not just the first layer of them.
        destinations = _valid_destinations(raw.get("destinations"))
    problems += lint(destinations, smap, has_hmac_key=hmac_key is not None)
    if problems or model is None:
        raise PolicyError(sorted(problems, key=lambda p: p.line))
    return compile_policy(model, policy_version(data), file, hmac_key)


def _structural(exc: ValidationError, smap: SourceMap) -> list[PolicyProblem]:
    problems = []
    for err in exc.errors(include_url=False):
        # Drop pydantic's union-branch markers so the path is the one in the file.
        path = tuple(p for p in err["loc"] if not _union_tag(p))
        if err["type"] == "literal_error" and any(
            other is not err and _under(path, other["loc"]) for other in exc.errors()
        ):
            continue  # the other branch of a union failed deeper: that error is the real one
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(smap.problem(path, msg))
    return problems


def _union_tag(part: object) -> bool:
    # pydantic names union branches in error paths ("literal['all']", "dict[str,str]").
    return isinstance(part, str) and part.startswith(("function-", "literal[", "dict[", "list["))


def _under(prefix: tuple[object, ...], loc: tuple[object, ...]) -> bool:
    path = tuple(p for p in loc if not _union_tag(p))
    return len(path) > len(prefix) and path[: len(prefix)] == prefix


def _valid_destinations(raw: object) -> dict[str, Destination]:
    if not isinstance(raw, dict):
        return {}
    known = {f.alias or n for n, f in Destination.model_fields.items()}
    valid = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            continue
        # Problems in it are already reported; lint the rest of the destination anyway, so
        # a bad max_age does not hide a bad native name. Drop what failed and retry once.
        kept = {k: v for k, v in spec.items() if k in known}
        for _ in range(2):
            try:
                valid[str(name)] = Destination.model_validate(kept)
                break
            except ValidationError as exc:
                bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
                kept = {k: v for k, v in kept.items() if k not in bad}
    return valid


def load_policy(path: str | Path, hmac_key: bytes | None = None) -> CompiledPolicy:
    """Read and compile a policy file. The HMAC key defaults to EVENTYARD_HMAC_KEY(_FILE)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(
            [PolicyProblem(str(path), 1, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    return parse_policy(data, str(path), hmac_key if hmac_key is not None else _hmac_key_from_env())
