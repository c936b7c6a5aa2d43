"""The difference between the ACLs and users the catalog wants and what the broker has.

Like a Terraform plan: what will be added, what removed, and what is left alone because the hub
did not create it (an ACL an operator added by hand is never touched). What the hub created is
remembered in a ledger on the broker itself (``hub.access``), so the plan needs no local state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.access.acls import Binding

# Never removed by the hub, whatever the catalog says: the broker itself and the super user.
PROTECTED_USERS = frozenset({"broker", "hub-admin"})


@dataclass(frozen=True)
class Ledger:
    """What the hub created on this broker and so may remove again."""

    bindings: frozenset[str] = frozenset()  # Binding.key
    users: frozenset[str] = frozenset()

    def to_json(self) -> dict:
        return {"bindings": sorted(self.bindings), "users": sorted(self.users)}

    @classmethod
    def from_json(cls, data: dict | None) -> Ledger:
        data = data or {}
        return cls(frozenset(data.get("bindings", ())), frozenset(data.get("users", ())))


@dataclass(frozen=True)
class Plan:
    add: tuple[Binding, ...] = ()
    remove: tuple[Binding, ...] = ()
    add_users: tuple[str, ...] = ()
    remove_users: tuple[str, ...] = ()
    unmanaged: tuple[Binding, ...] = field(default=())  # on the broker, not ours: left alone
    ledger: Ledger = Ledger()  # the ledger after the plan is applied

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove or self.add_users or self.remove_users)

    def lines(self) -> list[str]:
        """One line a change, ``+`` to add and ``-`` to remove, then a summary."""
        out = [f"+ user {u} (SCRAM-SHA-512)" for u in self.add_users]
        out += [f"- user {u}" for u in self.remove_users]
        out += [f"+ {b.key}" + (f"   # {b.reason}" if b.reason else "") for b in self.add]
        out += [f"- {b.key}" for b in self.remove]
        summary = (
            f"Plan: {len(self.add_users)} user(s) and {len(self.add)} ACL(s) to add, "
            f"{len(self.remove_users)} user(s) and {len(self.remove)} ACL(s) to remove."
        )
        if self.empty:
            summary = "No changes: the broker's ACLs and users match the catalog."
        out.append(summary)
        if self.unmanaged:
            out.append(
                f"{len(self.unmanaged)} ACL(s) on the broker were not created by hub access "
                "and are left alone (hub access show lists them per principal)."
            )
        return out


def make_plan(
    desired: Iterable[Binding],
    actual: Iterable[Binding],
    ledger: Ledger,
    *,
    desired_users: Iterable[str],
    actual_users: Iterable[str],
) -> Plan:
    desired_by_key = {b.key: b for b in desired}
    actual_by_key = {b.key: b for b in actual}
    add = [desired_by_key[k] for k in sorted(desired_by_key.keys() - actual_by_key.keys())]
    ours = actual_by_key.keys() & ledger.bindings
    remove = [actual_by_key[k] for k in sorted(ours - desired_by_key.keys())]
    unmanaged = [
        actual_by_key[k]
        for k in sorted(actual_by_key.keys() - ledger.bindings - desired_by_key.keys())
    ]
    want_users, have_users = set(desired_users), set(actual_users)
    # The broker and the super user are bootstrapped with the storage, never (re)created here:
    # giving hub-admin a new password would lock the operator out.
    add_users = sorted(want_users - have_users - PROTECTED_USERS)
    remove_users = sorted((have_users & ledger.users) - want_users - PROTECTED_USERS)
    after = Ledger(
        bindings=frozenset((ledger.bindings & desired_by_key.keys()) | {b.key for b in add}),
        users=frozenset((ledger.users & want_users) | set(add_users)),
    )
    return Plan(
        tuple(add), tuple(remove), tuple(add_users), tuple(remove_users), tuple(unmanaged), after
    )
