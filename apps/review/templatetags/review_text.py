from django import template

from apps.hemograms.wording import cbc_short_name, ip_message
from apps.patients.flag_text import flag_label, flag_reason
from apps.patients.models import Specimen, SpecimenFlag, SpecimenStatus, flag_waits
from apps.review.display import class_label

register = template.Library()


@register.filter(name="class_label")
def class_label_filter(code: str) -> str:
    """A cell class code ("ig") as its label in the active language."""
    return class_label(str(code or ""))


@register.filter(name="flag_label")
def flag_label_filter(name: str) -> str:
    return flag_label(str(name or ""))


@register.filter(name="flag_reason")
def flag_reason_filter(flag: SpecimenFlag) -> str:
    """Why a worklist flag was raised, in the active language (CBC parameters by their short
    names: "Hb", French "VGM"; an IP message as written, then named: "Left Shift? (déviation
    à gauche ?)")."""
    return flag_reason(flag, analyte_name=cbc_short_name, ip_text=ip_message)


@register.filter(name="has_flag")
def has_flag_filter(specimen: Specimen, name: str) -> bool:
    """Whether the specimen carries the flag `name` (reads its prefetched flags)."""
    return any(f.name == name for f in specimen.flags.all())


@register.filter(name="waiting_flags")
def waiting_flags_filter(specimen: Specimen) -> list:
    """The flags the specimen waits for (patients.models.flag_waits: of a signed case, only
    what its signature could not have decided), from its prefetched flags."""
    return [f for f in specimen.flags.all() if flag_waits(specimen.status, f.name)]


@register.filter(name="status_label")
def status_label_filter(code: str) -> str:
    """A specimen status code as its label in the active language."""
    try:
        return str(SpecimenStatus(code).label)
    except ValueError:
        return str(code)
