"""The troubleshooting catalogue: every user-facing error message raised in ie/ and plugins/, found by
scanning the source (AST) for ``raise X(...)`` where X is IEError or one of its subclasses."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT_ERROR = "IEError"
# What each error class means and what to do, in the order the catalogue shows them.
ADVICE: dict[str, str] = {
    "MissingCredentialsError": "An engine needs API keys. Set the variables the message names in the environment or in "
    "the `[secrets]` table of `~/.config/ie/config.toml` (never in `ie.toml`); `ie doctor` shows which are set.",
    "AuthError": "The service refused your key. Check it (`ie search --engine NAME \"test\"`), renew it; the run stops "
    "using this engine.",
    "QuotaExceededError": "A daily or hourly quota is spent. The engine is dropped for this run; `ie resume RUN` "
    "after the quota resets (Google: midnight Pacific; Openverse anonymous: 200 requests/day).",
    "RateLimitedError": "Too many requests right now (HTTP 429). The engine backs off by itself; lower "
    "`rate_per_second` in `[options.engine.NAME]` if it keeps happening.",
    "EngineUnavailableError": "The service is down, retired or not configured (Google CSE after 2027-01-01; LAION "
    "without a self-hosted backend). Pick another engine (`ie plugins`).",
    "MalformedResponseError": "The service answered with an unexpected shape; the query is skipped. If it happens for "
    "every query, the API changed: report it with `ie search --engine NAME --json`.",
    "EngineError": "A search failed; the query is skipped and the run goes on.",
    "WeightsUnavailableError": "Model weights are not on this machine and downloads are off (`HF_HUB_OFFLINE=1`). "
    "Download the file once elsewhere and pass its path as the message says; `ie doctor` checks what is present.",
    "UnknownPluginError": "A name in your config or command is not a registered plugin. `ie plugins` lists what "
    "is installed; a plugin listed as broken shows its import error.",
    "DuplicatePluginError": "Two installed packages register the same name. Uninstall one, or block one with "
    "`IE_DISABLE_PLUGINS=name`.",
    "PluginError": "A plugin could not be loaded, registered or found; `ie plugins` shows its status and error.",
    "IEError": "A user error with a message that says what to do (bad config, missing run directory, no images, ...).",
}


# Errors whose message is built by the class from its arguments (ie/api/errors.py).
TEMPLATES = {
    "UnknownPluginError": "no <kind> named <name>; available: <names> (see 'ie plugins')",
    "DuplicatePluginError": "two plugins register the <kind> <name>: <first> and <second>; uninstall one or block "
                            "it with IE_DISABLE_PLUGINS=<second>",
}


@dataclass
class Raised:
    error: str
    message: str
    where: str


def _render(node: ast.expr) -> str:
    """Source text of a message expression with f-string fields shown as <field>."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_render(v) if isinstance(v, ast.Constant) else _field(v.value)  # type: ignore[attr-defined]
                       for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _render(node.left) + _render(node.right)
    if isinstance(node, ast.IfExp):
        return _render(node.body)
    return _field(node)


def _field(node: ast.expr) -> str:
    text = ast.unparse(node)
    return "<engine>" if text == "self.name" else f"<{text}>"


def error_classes(files: list[Path]) -> dict[str, str]:
    """Class name -> base name, for every class that derives (transitively) from IEError."""
    bases: dict[str, str] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.bases:
                base = node.bases[0]
                bases[node.name] = base.id if isinstance(base, ast.Name) else ast.unparse(base).split(".")[-1]
    derived = {ROOT_ERROR: ROOT_ERROR}
    changed = True
    while changed:
        changed = False
        for name, base in bases.items():
            if name not in derived and base in derived:
                derived[name] = base
                changed = True
    return derived


def _message(error: str, call: ast.Call, classes: dict[str, str]) -> str:
    if error in TEMPLATES:
        return TEMPLATES[error]
    args = call.args
    family = error
    while family not in ("EngineError", "MissingCredentialsError", ROOT_ERROR):
        family = classes.get(family, ROOT_ERROR)
    if family == "MissingCredentialsError" and len(args) >= 2:
        return (f"{_render(args[0])}: set {_render(args[1])} in the environment (or in the [secrets] table of "
                f"~/.config/ie/config.toml)" + (f"; {_render(args[2])}" if len(args) > 2 else ""))
    if family == "EngineError" and len(args) >= 2:
        return f"{_render(args[0])}: {_render(args[1])}"
    return _render(args[0]) if args else "(message built by the class)"


def scan(repo: Path) -> list[Raised]:
    files = sorted([*(repo / "ie").rglob("*.py"), *(repo / "plugins").rglob("*.py")])
    classes = error_classes(files)
    found: list[Raised] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in classes:
                found.append(Raised(name, _message(name, node.exc, classes), f"{path.relative_to(repo)}:{node.lineno}"))
    return found


def _family(error: str, classes: dict[str, str]) -> str:
    while error not in ADVICE:
        error = classes.get(error, ROOT_ERROR)
    return error


def error_catalogue(repo: Path) -> str:
    """Markdown: per error family, what it means and what to do, then every message raised in the code."""
    files = sorted([*(repo / "ie").rglob("*.py"), *(repo / "plugins").rglob("*.py")])
    classes = error_classes(files)
    groups: dict[str, list[Raised]] = {}
    for raised in scan(repo):
        groups.setdefault(_family(raised.error, classes), []).append(raised)
    out = [f"{sum(len(g) for g in groups.values())} messages, found by scanning `ie/` and `plugins/` "
           "(`scripts/docs_errors.py`); `<name>` stands for a value filled in at run time.\n"]
    for family in ADVICE:
        if family not in groups:
            continue
        out.append(f"### {family}\n\n**What to do:** {ADVICE[family]}\n")
        out.append("| message | raised in |\n|---|---|")
        seen: set[str] = set()
        for raised in sorted(groups[family], key=lambda r: r.where):
            text = " ".join(raised.message.split()).replace("|", "\\|").replace("`", "'")
            if text in seen:
                continue
            seen.add(text)
            sub = f" ({raised.error})" if raised.error != family else ""
            out.append(f"| `{text}`{sub} | `{raised.where}` |")
        out.append("")
    return "\n".join(out)
