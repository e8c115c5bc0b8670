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
from eventyard.policy.schema import PolicyFile
from eventyard.policy.yamlsource import load_yaml

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
    try:
        model = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            path = tuple(p for p in err["loc"] if not str(p).startswith(("function-", "literal[")))
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(smap.problem(path, msg))
        raise PolicyError(problems) from None
    problems += lint(model, smap, has_hmac_key=hmac_key is not None)
    if problems:
        raise PolicyError(problems)
    return compile_policy(model, policy_version(data), file, hmac_key)


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
