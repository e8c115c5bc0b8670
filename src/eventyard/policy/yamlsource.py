"""YAML -> plain data plus the line of every key, so every problem can name FILE:LINE.

PyYAML's composer gives nodes with marks; we construct the data ourselves to catch what
`yaml.safe_load` hides: duplicate keys (the last one silently wins there). Building it
ourselves also bounds alias expansion (MAX_NODES) and supports merge keys (`<<: *ads`).
"""

from __future__ import annotations

from typing import Any

import yaml

from eventyard.errors import AliasExpansion, PolicyProblem, ProblemKind
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


# Nodes one document may build, counting every expansion of an alias. The shipped policy
# builds ~400; 20 destinations mapping all 66 events build ~3,000. A "billion laughs"
# document (nine aliases of nine) would build 387 million and take gigabytes.
MAX_NODES = 20_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[PolicyProblem]]:
    smap = SourceMap(file)
    problems: list[PolicyProblem] = []
    loader = yaml.SafeLoader(text)
    built = 0
    try:
        # Composing builds each anchored node once and makes every alias a reference to
        # it, so this is linear in the text; only building the data could multiply it.
        root = loader.get_single_node()
        if root is None:
            return None, smap, [
                PolicyProblem(file, 1, "", "the policy file is empty", "empty_file")
            ]
        smap.lines[()] = root.start_mark.line + 1

        def merged(node: yaml.Node, path: Path_) -> list[tuple[yaml.Node, yaml.Node]]:
            """(key, value) nodes a `<<` merge key brings in: a mapping or a list of them."""
            sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
            pairs: list[tuple[yaml.Node, yaml.Node]] = []
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    problems.append(PolicyProblem(
                        file, node.start_mark.line + 1, ".".join(map(str, path)),
                        "`<<` merges a mapping (`<<: *name`) or a list of mappings",
                        "bad_merge"))
                    continue
                pairs += source.value
            return pairs

        def build(node: yaml.Node, path: Path_) -> Any:
            nonlocal built
            built += 1
            if built > MAX_NODES:
                raise AliasExpansion
            if isinstance(node, yaml.MappingNode):
                out: dict[Any, Any] = {}
                merges: list[tuple[yaml.Node, yaml.Node]] = []
                for key_node, value_node in node.value:
                    if key_node.tag == _MERGE_TAG:
                        merges += merged(value_node, path)
                        continue
                    if not isinstance(key_node, yaml.ScalarNode):
                        problems.append(
                            PolicyProblem(file, key_node.start_mark.line + 1,
                                          ".".join(map(str, path)), "keys must be plain scalars",
                                          "bad_key")
                        )
                        continue
                    key = loader.construct_object(key_node, deep=True)
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
                # YAML merge keys: keys written in this mapping win over merged ones, and
                # earlier sources over later ones.
                for key_node, value_node in merges:
                    if not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = loader.construct_object(key_node, deep=True)
                    if key not in out:
                        sub = (*path, str(key))
                        smap.lines.setdefault(sub, key_node.start_mark.line + 1)
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
    except AliasExpansion:
        return None, smap, [PolicyProblem(
            file, 1, "", f"the document expands to more than {MAX_NODES} nodes through its "
            "aliases (&anchor/*alias); write the values out or use fewer nested aliases",
            "alias_expansion")]
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
