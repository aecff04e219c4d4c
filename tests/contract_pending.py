"""Contract v2.1 fields and values documented in messages/fields.yaml before the models have them.

The catalogue work adds these to the pydantic models in parallel. Until then the
registry tests accept their entries; once a model has the field, nothing here
matters for it and the entry can be deleted from this list.
"""

PENDING_FIELDS = frozenset(
    {
        "resident.coercion_need",
        "resident.coercion_follow_up_agreed",
        "resident.psychosis",
        "resident.health_follow_up_agreed",
        "resident.debt_problems",
        "resident.economy_follow_up",
        "offer.approved_for_coercion",
        "offer.tenure_limit",
        "offer.contract_safeguards",
        "offer.building.fire_risk_class",
        "offer.location.neighbour_opposition",
        "offer.organisation.staffing_funded",
    }
)

PENDING_VALUES = frozenset(
    {
        ("resident.violence_risk_towards", "partner"),
        ("resident.violence_risk_towards", "children"),
        ("offer.building.construction", "temporary"),
        ("offer.building.sprinkler", "mobile"),
    }
)
