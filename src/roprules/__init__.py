"""roprules: explained decision support for housing people with ROP disorders.

The flow: profiles → rules → engine → assessment → reports. The stable entry
point is `Engine`; assessments are pydantic models with a JSON form.
"""

from roprules.api import Engine
from roprules.contract.assessment import Assessment, Finding, MissingInfo
from roprules.contract.documents import InputError
from roprules.contract.errors import ErrorDetail
from roprules.contract.profiles import OfferProfile, ResidentProfile
from roprules.evaluation.backends import BackendUnavailable, EngineError
from roprules.rulebase.ruleset import RulesetError

__all__ = [
    "Assessment",
    "BackendUnavailable",
    "Engine",
    "EngineError",
    "ErrorDetail",
    "Finding",
    "InputError",
    "MissingInfo",
    "OfferProfile",
    "Ranking",
    "ResidentProfile",
    "RulesetError",
]
__version__ = "0.2.0"


def __getattr__(name: str) -> object:
    """`Ranking` is built when first used (contract/rankings.py): a check does not need it."""
    if name == "Ranking":
        from roprules.contract.rankings import Ranking

        return Ranking
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
