"""Identity stage: people from CRM contact records (Splink), call attribution, and
stable pseudonymous keys. See docs/identity.md."""

from pipeline.identity.resolve import IdentityResult, PreviousIdentity, resolve_identity
from pipeline.identity.training import TrainReport, train_model

__all__ = ["IdentityResult", "PreviousIdentity", "TrainReport", "resolve_identity", "train_model"]
