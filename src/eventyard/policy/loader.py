"""One loader for check-policy, explain, test-policy and the worker (start-up and reload),
so a file that passes the check is exactly a file the worker accepts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from eventyard.errors import ConfigError, PolicyError, PolicyProblem
from eventyard.policy.compile import compile_policy
from eventyard.policy.compiled import DEFAULT_ADS_KEY, CompiledPolicy
from eventyard.policy.lint import lint, lint_aliases
from eventyard.policy.messages import Loc, file_path, sentence, union_sentence
from eventyard.policy.readfile import UnreadableFile, read_regular_file
from eventyard.policy.schema import Defaults, Destination, PolicyFile
from eventyard.policy.signals_lint import lint_signals, valid_signals
from eventyard.policy.yamlsource import SourceMap, load_yaml

HMAC_KEY_ENV = "EVENTYARD_HMAC_KEY"
ADS_KEY_ENV = "EVENTYARD_ADS_KEY_SECRET"


def policy_version(data: bytes) -> str:
    """Content hash: the same bytes are the same version on every worker."""
    return hashlib.sha256(data).hexdigest()[:12]


def _hmac_key_from_env() -> bytes | None:
    key = os.environ.get(HMAC_KEY_ENV)
    if key:
        return key.encode()
    key_file = os.environ.get(HMAC_KEY_ENV + "_FILE")
    if key_file:
        try:
            return Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(
                f"{HMAC_KEY_ENV}_FILE: cannot read {key_file}: {exc.strerror}"
            ) from None
    return None


def _ads_key_from_env(hmac_key: bytes | None) -> bytes:
    """EVENTYARD_ADS_KEY_SECRET(_FILE), else the HMAC key, else the public default."""
    key = os.environ.get(ADS_KEY_ENV)
    if key:
        return key.encode()
    key_file = os.environ.get(ADS_KEY_ENV + "_FILE")
    if key_file:
        return Path(key_file).read_bytes().strip()
    return hmac_key or DEFAULT_ADS_KEY


def parse_policy(
    data: bytes, file: str, hmac_key: bytes | None = None, ads_key: bytes = DEFAULT_ADS_KEY
) -> CompiledPolicy:
    """bytes of a policy file -> compiled policy, or PolicyError listing every problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(
            [PolicyProblem(file, 1, "", "the file is not UTF-8", "not_utf8")]
        ) from None
    raw, smap, problems = load_yaml(text, file)
    if raw is None:
        raise PolicyError(problems)
    if not isinstance(raw, dict):
        raise PolicyError(
            [*problems, smap.problem((), "the policy must be a mapping", "not_a_mapping")]
        )
    model: PolicyFile | None = None
    try:
        model = PolicyFile.model_validate(raw)
        destinations, aliases, signals = model.destinations, model.aliases, model.signals
    except ValidationError as exc:
        problems += _structural(exc, smap, raw)
        # Keep going: lint every destination that is well-formed on its own, so one run
        # reports every problem in the file, not just the first layer of them.
        destinations = _valid_destinations(raw.get("destinations"))
        aliases = _valid_aliases(raw.get("aliases"))
        signals = valid_signals(raw.get("signals"))
    problems += lint(destinations, smap, has_hmac_key=hmac_key is not None)
    problems += lint_aliases(aliases, smap)
    problems += lint_signals(signals, destinations, smap, aliases)
    errors = sorted((p for p in problems if p.severity == "error"), key=lambda p: p.line)
    warnings = tuple(sorted((p for p in problems if p.severity == "warning"), key=lambda p: p.line))
    if errors or model is None:
        raise PolicyError(errors, warnings)
    return compile_policy(model, policy_version(data), file, hmac_key, warnings, ads_key)


def _keys_at(raw: dict[str, Any]) -> dict[Loc, list[str]]:
    """The keys each mapping of the file accepts, for "did you mean" on unknown keys."""
    keys: dict[Loc, list[str]] = {
        (): list(PolicyFile.model_fields),
        ("defaults",): list(Defaults.model_fields),
    }
    dest_keys = [f.alias or n for n, f in Destination.model_fields.items()]
    names = raw.get("destinations")
    for name in names if isinstance(names, dict) else ():
        keys[("destinations", str(name))] = dest_keys
    return keys


def _structural(
    exc: ValidationError, smap: SourceMap, raw: dict[str, Any]
) -> list[PolicyProblem]:
    by_path: dict[Loc, list[ErrorDetails]] = {}
    for err in exc.errors(include_url=False):
        by_path.setdefault(file_path(err["loc"]), []).append(err)
    keys = _keys_at(raw)
    problems = []
    for path, errs in by_path.items():
        branches = [e for e in errs if e["loc"] != path and file_path(e["loc"]) == path
                    and "[key]" not in e["loc"]]
        rest = [e for e in errs if not any(e is b for b in branches)]
        deeper = any(len(o) > len(path) and o[: len(path)] == path for o in by_path)
        if branches and not deeper:
            # every branch of a union failed here: one sentence for the field
            kind, message = (
                sentence(branches[0], keys) if len(branches) == 1
                else union_sentence(path, branches)
            )
            problems.append(smap.problem(path, message, kind))
        # (branches failing here while one failed deeper: the deeper error is the real one)
        for err in rest:
            kind, message = sentence(err, keys)
            problems.append(smap.problem(path, message, kind))
    return problems


def _valid_aliases(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}


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
        data = read_regular_file(path)
    except UnreadableFile as exc:
        problem = PolicyProblem(str(path), 1, "", f"cannot read the file: {exc}", "unreadable_file")
        raise PolicyError([problem]) from None
    key = hmac_key if hmac_key is not None else _hmac_key_from_env()
    return parse_policy(data, str(path), key, _ads_key_from_env(key))
