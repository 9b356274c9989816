"""From a directory entry's raw attributes to what we store: a pure function.

The attribute names come from the console (``DirectorySettings``); the values
come from the directory and are only decoded and trimmed here. Validation
against our own rules (user ID format, email, phone) happens in the sync, which
reports a bad entry and goes on.
"""

from dataclasses import dataclass

from opensspr.directory.values import Attributes

UF_ACCOUNTDISABLE = 0x2


class MappingError(ValueError):
    """The entry can't become a user or group; ``str()`` says why, for the report."""


@dataclass(frozen=True)
class AttributeMap:
    """Which directory attribute fills which field (names, not values)."""

    user_id: str = "uid"
    user_id_suffix: str = ""  # appended as "@suffix" when the value has no "@"
    display_name: str = "displayName"
    given_name: str = "givenName"
    surname: str = "sn"
    email: str = "mail"
    mobile_phone: str = "mobile"
    office_phone: str = "telephoneNumber"
    # Enabled state: AD reads userAccountControl's ACCOUNTDISABLE bit; otherwise an
    # entry is disabled when ``disabled_attribute`` holds ``disabled_value``.
    active_directory: bool = False
    disabled_attribute: str = "pwdAccountLockedTime"
    disabled_value: str = "000001010000Z"
    group_name: str = "cn"
    member: str = "member"

    def user_attributes(self) -> list[str]:
        names = [
            self.user_id,
            self.display_name,
            self.given_name,
            self.surname,
            self.email,
            self.mobile_phone,
            self.office_phone,
            "cn",
            "userAccountControl" if self.active_directory else self.disabled_attribute,
            "modifyTimestamp",
        ]
        return sorted({n for n in names if n})

    def group_attributes(self) -> list[str]:
        return sorted({self.group_name, self.member, "modifyTimestamp"})


@dataclass(frozen=True)
class MappedUser:
    dn: str
    user_id: str
    display_name: str
    given_name: str
    surname: str
    email: str
    mobile_phone: str
    office_phone: str
    enabled: bool


@dataclass(frozen=True)
class MappedGroup:
    dn: str
    name: str
    member_dns: tuple[str, ...]


def _text(attributes: Attributes, name: str) -> str:
    values = attributes.get(name.lower()) if name else None
    if not values:
        return ""
    return values[0].decode("utf-8", "replace").strip()


def _enabled(attributes: Attributes, amap: AttributeMap) -> bool:
    if amap.active_directory:
        flags = _text(attributes, "userAccountControl")
        return not (flags.isdigit() and int(flags) & UF_ACCOUNTDISABLE)
    values = attributes.get(amap.disabled_attribute.lower(), [])
    wanted = amap.disabled_value.encode("utf-8").lower()
    return not any(v.strip().lower() == wanted for v in values)


def map_user(dn: str, attributes: Attributes, amap: AttributeMap) -> MappedUser:
    raw_id = _text(attributes, amap.user_id)
    if not raw_id:
        raise MappingError(f"the entry has no {amap.user_id} (the user-ID attribute)")
    user_id = raw_id
    if "@" not in raw_id and amap.user_id_suffix:
        user_id = f"{raw_id}@{amap.user_id_suffix.lstrip('@')}"
    display = _text(attributes, amap.display_name) or _text(attributes, "cn") or user_id
    return MappedUser(
        dn=dn,
        user_id=user_id,
        display_name=display,
        given_name=_text(attributes, amap.given_name),
        surname=_text(attributes, amap.surname),
        email=_text(attributes, amap.email),
        mobile_phone=_text(attributes, amap.mobile_phone),
        office_phone=_text(attributes, amap.office_phone),
        enabled=_enabled(attributes, amap),
    )


def map_group(dn: str, attributes: Attributes, amap: AttributeMap) -> MappedGroup:
    name = _text(attributes, amap.group_name)
    if not name:
        raise MappingError(f"the group has no {amap.group_name}")
    members = tuple(
        v.decode("utf-8", "replace") for v in attributes.get(amap.member.lower(), []) if v
    )
    return MappedGroup(dn=dn, name=name, member_dns=members)
