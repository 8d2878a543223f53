"""The house rules, read from the source: every import in dynlp/ (those inside functions too)
is walked with `ast`, and the graph must have no circle and none of the forbidden edges below.

    core       errors backend config metrics: imports nothing of the parts
    data       core only
    models     never training, tasks, runtime, serve or cli
    store      never models
    tasks      never runtime, serve or cli (each family's task: tasks/)
    cli, runtime, serve   never training: they call tasks
    training   its loop reads of a model and a batch only what training/protocol.py names
    serve      app, pool and protocol never reach DyNet (dynlp.backend or dynet, through any
               chain of imports), only its worker does
    cli        nothing imports it
    inside a function, only an optional extra (or DyNet, which starts when imported) is imported
    recipes/ and benchmarks/   of dynlp.cli the shared flags only, never training (recipes/),
               and no name with a leading underscore
"""
import ast
import os
import shutil

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dynlp")
CORE = {"dynlp.errors", "dynlp.backend", "dynlp.config", "dynlp.metrics"}
# Imported inside functions on purpose: optional extras, DyNet (importing it starts it, so
# backend.py decides when), nltk (0.4 s to import, needed only to split words) and the
# standard library's help pages (the bundled corpus, large).
LAZY_ALLOWED = {"dynet", "dynet_config", "ray", "starlette", "uvicorn", "uvloop", "matplotlib",
                "nltk", "pydoc_data"}
NO_DYNET = ("dynlp.serve.app", "dynlp.serve.pool", "dynlp.serve.protocol")
DYNET = ("dynlp.backend", "dynet")


def module_names(root):
    """{module name: file} for every .py file below root (the dynlp package)."""
    names = {}
    for base, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(base, name)
                parts = os.path.relpath(path, os.path.dirname(root))[:-3].split(os.sep)
                names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports(path, module, modules):
    """(imported name, line, inside a function) of each import in the file: a dynlp module
    where it names one (`from dynlp.x import y` is dynlp.x.y when y is a module), else the
    top-level name of the package."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child, module, path)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    found.append((full if full in modules else base, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def resolve(node, module, path):
    """The absolute module name of an ImportFrom (relative imports resolved)."""
    if not node.level:
        return node.module
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        package = package.rsplit(".", 1)[0]
    return f"{package}.{node.module}" if node.module else package


def graph(root):
    """{module: [(imported, line, inside a function)]} over the package at root."""
    modules = module_names(root)
    return {name: imports(path, name, modules) for name, path in modules.items()}, modules


def within(name, *prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def edge_problems(edges, modules):
    """One line for each import that breaks a rule of the house."""
    problems = []
    for source, targets in edges.items():
        for target, line, lazy in targets:
            where = f"{source}:{line} imports {target}"
            top = target.split(".")[0]
            if top == "dynlp" and target not in modules:
                problems.append(f"{where}: no such module")
            if lazy and top == "dynlp":
                problems.append(f"{where} inside a function (import it at the top)")
            elif lazy and top not in LAZY_ALLOWED:
                problems.append(f"{where} inside a function (only optional extras may be)")
            problems.extend(f"{where}: {rule}" for rule in broken_rules(source, target))
    return problems


def broken_rules(source, target):
    if not within(target, "dynlp") or source == "dynlp":
        return []
    rules = []
    if source in CORE and target not in CORE:
        rules.append("the core imports nothing of the parts")
    if within(source, "dynlp.data") and not (target in CORE or within(target, "dynlp.data")):
        rules.append("data imports only the core")
    if within(source, "dynlp.models") and within(
            target, "dynlp.training", "dynlp.tasks", "dynlp.runtime", "dynlp.serve", "dynlp.cli"):
        rules.append("models never import training, tasks, runtime, serve or cli")
    if within(source, "dynlp.tasks") and within(target, "dynlp.runtime", "dynlp.serve",
                                                 "dynlp.cli"):
        rules.append("tasks never import runtime, serve or cli")
    if within(source, "dynlp.cli", "dynlp.runtime", "dynlp.serve") and within(
            target, "dynlp.training"):
        rules.append("cli, runtime and serve never import training: they call tasks")
    if within(source, "dynlp.store") and within(target, "dynlp.models"):
        rules.append("store never imports models")
    if within(target, "dynlp.cli") and not within(source, "dynlp.cli"):
        rules.append("nothing imports cli")
    return rules


def reaches(edges, start, forbidden):
    """The first chain of imports from `start` to a module within `forbidden`, or None."""
    seen, stack = {start}, [(start, [start])]
    while stack:
        module, chain = stack.pop()
        for target, _, _ in edges.get(module, ()):
            if within(target, *forbidden):
                return chain + [target]
            if target in edges and target not in seen:
                seen.add(target)
                stack.append((target, chain + [target]))
    return None


def cycles(edges):
    """Each circle of imports among dynlp's modules (the package's own __init__ aside)."""
    found, state = [], {}

    def walk(module, path):
        state[module] = "open"
        for target, _, _ in edges[module]:
            if target not in edges or target == "dynlp":
                continue
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                walk(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state and module != "dynlp":
            walk(module, [module])
    return found


def problems(root):
    """Every broken rule of the package at root, one line each."""
    edges, modules = graph(root)
    found = edge_problems(edges, modules)
    found += [" -> ".join(circle) + ": a circle" for circle in cycles(edges)]
    for module in NO_DYNET:
        chain = reaches(edges, module, DYNET) if module in edges else None
        if chain:
            found.append(" -> ".join(chain) + ": serve's app, pool and protocol never reach DyNet")
    return found


def test_the_house_rules_hold():
    assert problems(ROOT) == []


@pytest.mark.parametrize("file, line, rule", [
    ("models/lm.py", "from dynlp.training import loop", "models never import training"),
    ("models/lm.py", "from dynlp.tasks import lm", "models never import training, tasks"),
    ("tasks/lm.py", "from dynlp.runtime import work", "tasks never import runtime"),
    ("cli/lm.py", "from dynlp.training.loop import fit", "never import training"),
    ("serve/worker.py", "from dynlp.training import loop", "never import training"),
    ("runtime/work.py", "import dynlp.training.loop", "never import training"),
    ("store/checkpoint.py", "from dynlp.models import lm", "store never imports models"),
    ("serve/protocol.py", "from dynlp.serve import worker", "never reach DyNet"),
    ("data/vocab.py", "from dynlp.data import text", "a circle"),
    ("metrics.py", "def f():\n    import json", "only optional extras"),
])
def test_a_forbidden_edge_fails_the_rules(tmp_path, file, line, rule):
    copy = tmp_path / "dynlp"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / file, "a", encoding="utf-8") as out:
        out.write(f"\n{line}\n")
    assert any(rule in problem for problem in problems(str(copy)))


def function_lengths(root):
    """(lines, file, name) of every function in the package, nested ones counted in theirs."""
    found = []
    for path in module_names(root).values():
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((node.end_lineno - node.lineno + 1, path, node.name))
    return found


def test_every_function_is_at_most_40_lines():
    assert [f for f in function_lengths(ROOT) if f[0] > 40] == []


# ---- the loop reads only the protocol ---------------------------------------------------------
LOOP = os.path.join(ROOT, "training", "loop.py")
PROTOCOL = os.path.join(ROOT, "training", "protocol.py")
MODEL_NAMES = {"model"}  # what the loop calls the model it trains
BATCH_NAMES = {"batch", "part", "batches"}  # a batch, or a list of them (indexed)
MODEL_PROTOCOL = {"pc", "training", "loss", "save"}
BATCH_PROTOCOL = {"num_tokens", "num_sequences", "columns", "restarted"}


def protocol_optionals():
    """The names of training/protocol.OPTIONAL, read from its source."""
    for node in ast.walk(ast.parse(open(PROTOCOL, encoding="utf-8").read())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "OPTIONAL":
            return {key.value for key in node.value.keys}
    return set()


def _name(node):
    """The variable an expression reads (`batches[0]` reads `batches`), or None."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def loop_reads_beyond_protocol(path=LOOP):
    """One line for each thing of a model or batch the loop reads that the protocol lacks."""
    optional, found = protocol_optionals(), []
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.Attribute):
            owner = _name(node.value)
            if owner in MODEL_NAMES and node.attr not in MODEL_PROTOCOL:
                found.append(f"line {node.lineno}: model.{node.attr} is not in the protocol")
            if owner in BATCH_NAMES and node.attr not in BATCH_PROTOCOL:
                found.append(f"line {node.lineno}: batch.{node.attr} is not in the protocol")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "getattr", "hasattr", "setattr", "option") and len(node.args) >= 2:
            owner, what = _name(node.args[0]), node.args[1]
            name = what.value if isinstance(what, ast.Constant) else "?"
            allowed = node.func.id == "option" and name in optional
            if owner in MODEL_NAMES | BATCH_NAMES and not allowed:
                found.append(f"line {node.lineno}: {node.func.id}({owner}, {name!r}) is not "
                             "the protocol")
    return found


def test_the_loop_reads_only_the_protocol():
    assert loop_reads_beyond_protocol() == []


@pytest.mark.parametrize("planted", [
    "def f(model):\n    return model.networks",
    "def f(model):\n    return getattr(model, 'adversarial', 0)",
    "def f(batch):\n    return batch.carry",
    "def f(model):\n    return option(model, 'teacher')",
])
def test_a_loop_reading_beyond_the_protocol_fails(tmp_path, planted):
    copy = tmp_path / "loop.py"
    copy.write_text(open(LOOP, encoding="utf-8").read() + "\n\n" + planted + "\n")
    assert loop_reads_beyond_protocol(str(copy))


# ---- scripts: recipes/ and benchmarks/ use the public names ------------------------------------
REPO = os.path.dirname(ROOT)


def script_problems(folders=("recipes", "benchmarks"), repo=REPO):
    """One line for each import of a script that reaches past dynlp's public names."""
    found = []
    for folder in folders:
        for base, _, files in os.walk(os.path.join(repo, folder)):
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(base, name)
                found += [f"{os.path.relpath(path, repo)}: {p}"
                          for p in _script_imports(path, folder)]
    return found


def _script_imports(path, folder):
    problems = []
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [(alias.name, None) for alias in node.names]
        else:
            continue
        for module, name in names:
            full = f"{module}.{name}" if name else module
            if within(full, "dynlp.cli") and not within(full, "dynlp.cli.flags") \
                    and full != "dynlp.cli.main":  # `python -m` of the command, as a user runs it
                problems.append(f"line {node.lineno} imports {full}: only dynlp.cli.flags")
            if folder == "recipes" and within(full, "dynlp.training"):
                problems.append(f"line {node.lineno} imports {full}: recipes call tasks")
            if any(part.startswith("_") and not part.startswith("__")
                   for part in full.split(".")):
                problems.append(f"line {node.lineno} imports {full}: a private name")
    return problems + _path_edits(path)


def _path_edits(path):
    """A script that changes sys.path: a script's own folder is on it already (benchmarks/
    share benchmarks/common.py that way), and dynlp is installed."""
    return [f"line {node.lineno} changes sys.path: import from the script's folder or dynlp"
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path))
            if isinstance(node, ast.Attribute) and node.attr == "path"
            and isinstance(node.value, ast.Name) and node.value.id == "sys"]


def test_scripts_use_public_names_only():
    assert script_problems() == []


@pytest.mark.parametrize("folder, line, rule", [
    ("recipes", "from dynlp.cli.output import output_file", "only dynlp.cli.flags"),
    ("benchmarks", "from dynlp.cli import tagger", "only dynlp.cli.flags"),
    ("recipes", "from dynlp.training.loop import fit", "recipes call tasks"),
    ("benchmarks", "from dynlp.tasks.tagger import _check_known_tags", "a private name"),
    ("benchmarks", "from treebanks import _best", "a private name"),
    ("benchmarks", "import sys\nsys.path.insert(0, '..')", "changes sys.path"),
    ("recipes", "import sys\nsys.path.append('x')", "changes sys.path"),
])
def test_a_script_reaching_past_the_public_names_fails(tmp_path, folder, line, rule):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "planted.py").write_text(f"{line}\n")
    assert any(rule in problem for problem in script_problems((folder,), str(tmp_path)))
