"""PyYAML's syntax errors, said the way a person fixing the file needs to hear them."""

from __future__ import annotations


def syntax_message(problem: str | None, line_text: str) -> str:
    """One sentence for a YAML syntax error at a line whose text is `line_text`."""
    problem = problem or "the YAML is malformed"
    if "\\t" in problem or "\t" in line_text[: len(line_text) - len(line_text.lstrip())]:
        return (
            "YAML syntax error: a tab in the indentation; YAML indents with spaces only, "
            "so replace the tab with spaces"
        )
    if problem.startswith("mapping values are not allowed"):
        return (
            "YAML syntax error: a key where none can start; check this line's indentation "
            "against the line above, and quote values that contain ': '"
        )
    if problem.startswith("expected <block end>"):
        return (
            "YAML syntax error: bad indentation; this line must line up with the keys "
            "of its section"
        )
    return f"YAML syntax error: {problem}"
