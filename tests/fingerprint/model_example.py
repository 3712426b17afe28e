"""The fingerprint linker for the shared model-contract test: a generated history (the
generator's truth labels), fitted on its first months, calibrated on the next, held-out last."""
from datetime import date

from transforms.common.quarantine import Quarantine
from transforms.fingerprint import ingest
from transforms.fingerprint.model import LinkerModel, gate_rule
from transforms.fingerprint.settings import FingerprintSettings
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator


def example():
    records = HistoryGenerator(GeneratorConfig(seed=5, devices=150, days=360, start=date(2014, 1, 1))).visits()
    visits = ingest.normalise_records(records, None, 4096, Quarantine("example"))
    day = visits["ts"].dt.strftime("%Y-%m-%d")
    fit, calibration, test = visits[day < "2014-07-01"], visits[(day >= "2014-07-01") & (day < "2014-10-01")], \
        visits[day >= "2014-10-01"]
    model = LinkerModel(seed=0, max_different_pairs=20_000)
    rule = gate_rule(FingerprintSettings())  # the deployed defaults
    return model, {"fit": fit.reset_index(drop=True), "calibration": calibration.reset_index(drop=True)}, \
        test.reset_index(drop=True), rule
