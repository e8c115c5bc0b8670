"""YAML -> plain data plus the line of every key, so every problem can name FILE:LINE.

PyYAML's composer gives nodes with marks; we construct the data ourselves to catch what
`yaml.safe_load` hides: duplicate keys (the last one silently wins there).
"""

from __future__ import annotations

from typing import Any

import yaml

from eventyard.errors import PolicyProblem, ProblemKind
from eventyard.policy.yamlhints import syntax_message

Path_ = tuple[str | int, ...]


class SourceMap:
    """Maps a data path (("destinations", "meta", "events", "SignUp")) to a 1-based line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path_, int] = {}

    def line(self, path: Path_) -> int:
        # The deepest known prefix: a pydantic error may point inside a value we mapped
        # only at its key.
        for cut in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:cut]))
            if found is not None:
                return found
        return 1

    def problem(
        self, path: Path_, message: str, kind: ProblemKind = "bad_value", *, warning: bool = False
    ) -> PolicyProblem:
        return PolicyProblem(
            self.file, self.line(path), ".".join(str(p) for p in path), message, kind,
            "warning" if warning else "error",
        )


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[PolicyProblem]]:
    smap = SourceMap(file)
    problems: list[PolicyProblem] = []
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, smap, [
                PolicyProblem(file, 1, "", "the policy file is empty", "empty_file")
            ]
        smap.lines[()] = root.start_mark.line + 1

        def build(node: yaml.Node, path: Path_) -> Any:
            if isinstance(node, yaml.MappingNode):
                out: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = loader.construct_object(key_node, deep=True)
                    if not isinstance(key, str | int | bool | float) and key is not None:
                        problems.append(
                            PolicyProblem(file, key_node.start_mark.line + 1,
                                          ".".join(map(str, path)), "keys must be plain scalars",
                                          "bad_key")
                        )
                        continue
                    sub = (*path, str(key))
                    if key in out:
                        problems.append(
                            PolicyProblem(
                                file,
                                key_node.start_mark.line + 1,
                                ".".join(map(str, sub)),
                                f"duplicate key (first defined on line {smap.lines[sub]})",
                                "duplicate_key",
                            )
                        )
                        continue
                    smap.lines[sub] = key_node.start_mark.line + 1
                    out[key] = build(value_node, sub)
                return out
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    smap.lines[(*path, i)] = item.start_mark.line + 1
                    items.append(build(item, (*path, i)))
                return items
            return loader.construct_object(node, deep=True)

        return build(root, ()), smap, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        lines = text.splitlines()
        text_at = lines[line - 1] if 0 < line <= len(lines) else ""
        message = syntax_message(exc.problem, text_at)
        return None, smap, [PolicyProblem(file, line, "", message, "yaml_syntax")]
    except yaml.YAMLError as exc:
        return None, smap, [PolicyProblem(file, 1, "", f"YAML error: {exc}", "yaml_syntax")]
    finally:
        loader.dispose()
