"""Demo and synthetic-data code lives in transforms/synthetic/ and no production module imports
it: the pipelines (transforms/, dags/, plugins/) run the same with that package deleted."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ["transforms", "dags", "plugins"]
# demo code still outside the package: the survey's loopback fixture web (it moves with its data
# files); it may use the generators, and production may not import it either
DEMO = {"transforms.synthetic": ROOT / "transforms" / "synthetic",
        "transforms.survey.fixture_web": ROOT / "transforms" / "survey" / "fixture_web"}


def synthetic_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                 if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        if any(n == package or n.startswith(package + ".") for n in names for package in DEMO):
            found.append(f"{path}:{node.lineno}")
    return found


def production_files() -> list[Path]:
    return [p for folder in PRODUCTION for p in (ROOT / folder).rglob("*.py")
            if not any(demo in p.parents for demo in DEMO.values())]


def test_no_production_module_imports_the_synthetic_package():
    files = production_files()
    assert len(files) > 50
    offenders = [hit for path in files for hit in synthetic_imports(path)]
    assert not offenders, f"production code imports demo code: {offenders}"


def test_the_scan_sees_both_import_forms(tmp_path):
    sample = ROOT / "transforms" / "synthetic" / "__init__.py"
    assert synthetic_imports(sample) == []
    probe = tmp_path / "probe.py"
    probe.write_text("import transforms.synthetic.fingerprint_visits as g\nfrom transforms import synthetic\n"
                     "from transforms.synthetic.mouse_sessions import profiles\nfrom transforms.common import days\n"
                     "from transforms.survey.fixture_web.sites import SITES\n")
    assert len(synthetic_imports(probe)) == 4
