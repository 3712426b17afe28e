"""The survey's model for the shared model-contract test: the disclosure purpose model, trained on
the shipped training sentences' training part, evaluated on their held-out part."""
from transforms.survey import policy_model


def example():
    train, held_out = policy_model.split(policy_model.load_sentences())
    return policy_model.PurposeModel(), train, held_out, policy_model.GATE
