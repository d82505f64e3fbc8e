"""One population behind every feed: valid unique IDs, and the same people and households across feeds."""

from __future__ import annotations

from collections import Counter

from include.ingest.counties import resolve
from include.ingest.ids import validate
from samples import (
    disability_subsidies,
    early_warning,
    employment,
    monitored_households,
    population,
    social_assistance,
)

SCALE = 0.1


def _ids(feed: object, columns: tuple[int, ...], months: range = range(1, 13)) -> set[str]:
    return {str(record[i]) for month in months for record in feed.SOURCE.records(month, SCALE) for i in columns}  # type: ignore[attr-defined]


def test_ids_are_valid_unique_and_from_shangqiu():
    people = [p for residents in population.build(SCALE).counties.values() for p, _ in residents.people]
    assert len(people) == len(set(people))
    assert not [p for p in people[::50] if validate(p)]
    assert all(p.startswith("4114") for p in people)


def test_households_have_plausible_members():
    for residents in population.build(SCALE).counties.values():
        for household in residents.households[::20]:
            ages = [population.age(p) for p in household.members]
            assert 1 <= len(ages) <= 8
            assert ages[0] >= 18, "the head is an adult"


def test_microcredit_borrowers_of_monitored_households_head_a_monitored_household():
    register = {
        m.household.head: m.household.county for r in population.build(SCALE).counties.values() for m in r.monitored
    }
    borrowers = {
        (a.household, resolve(a.county)) for a in population.microcredit_accounts(SCALE) if a.household_type == "监测户"
    }
    assert borrowers
    assert all(register.get(head) == county for head, county in borrowers)


def test_social_assistance_rosters_are_households_of_the_population():
    households = {h.number: h for r in population.build(SCALE).counties.values() for h in r.households}
    for county in social_assistance.payments(SCALE).values():
        for spell, *_ in county.dibao[::25]:
            assert spell.person in households[spell.household.number].members
        tekun = {s.person for s, *_ in county.tekun}
        assert not tekun & {s.person for s, *_ in county.dibao}, "特困 and 低保 exclude each other"


def test_living_subsidy_goes_to_people_on_the_assistance_rosters_and_care_to_the_severely_disabled():
    assisted = social_assistance.payments(SCALE)
    for code, kinds in disability_subsidies.payments(SCALE).items():
        on_roster = {s.person for s, *_ in (*assisted[code].dibao, *assisted[code].tekun)}
        assert all(spell.person in on_roster for spell, *_ in kinds[disability_subsidies.LIVING])
        assert {grade for *_, grade in kinds[disability_subsidies.CARE]} <= {"一级", "二级"}


def test_workers_are_of_working_age():
    for jobs in employment.jobs(SCALE).values():
        assert all(16 <= population.age(job.spell.person) <= 60 for job in jobs)


def test_most_early_warning_ids_are_known_to_the_registers_and_a_few_are_not():
    """Known: a person or household head in the 民政 file, a 残联 recipient, or a 三类户 head."""
    known = _ids(social_assistance, (4, 5)) | _ids(disability_subsidies, (3,)) | _ids(monitored_households, (4,))
    flags = [(record[3], str(record[5])) for month in range(1, 13) for record in early_warning.records(month, SCALE)]
    unknown = Counter(source for source, person in flags if person not in known)
    assert set(unknown) == {early_warning.MEDICAL}, "民政 and 残联 flag people on their own rosters"
    assert 3 <= unknown[early_warning.MEDICAL] <= 0.05 * len(flags)
