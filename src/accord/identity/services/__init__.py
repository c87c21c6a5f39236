"""Writes to people and to the access model: users, departments, roles with their object and
field permissions, teams, territories, org-wide sharing defaults, sharing rules and manual
shares of one record.

Every public function checks who may call it (:func:`check_manager`: a superuser or a role that
manages access; sharing one record also its owner and editors), validates its input, and writes
the change and its security event (``audit.record``) in one transaction, so a change is never
without its log entry. A refused (403) or invalid (409, 422) attempt rolls back whatever it
began and is then logged in a transaction of its own. ``check_*`` functions validate and may
raise, without side effects; ``do_*`` helpers write and assume a transaction is open.
"""

from accord.identity.services._common import (
    IDENTIFYING_FIELDS,
    MAX_MEMBERS,
    check_manager,
)
from accord.identity.services.people import (
    add_user,
    change_department,
    change_user,
    check_department,
    check_password,
    check_user,
    create_department,
    create_user,
    deactivate_user,
    delete_department,
    do_apply_user,
    ensure_department,
    reactivate_user,
    reset_password,
)
from accord.identity.services.roles import (
    change_role,
    check_field_permissions,
    check_object_permissions,
    check_role,
    create_role,
    delete_role,
    do_move_role,
    do_place_role,
    record_fields,
    set_field_permissions,
    set_object_permissions,
)
from accord.identity.services.sharing import (
    change_sharing_rule,
    change_team,
    change_territory,
    check_sharing_rule,
    check_team,
    check_territory,
    create_sharing_rule,
    create_team,
    create_territory,
    delete_sharing_rule,
    delete_team,
    delete_territory,
    set_sharing_default,
    share_record,
    unshare_record,
)

__all__ = [
    "IDENTIFYING_FIELDS",
    "MAX_MEMBERS",
    "add_user",
    "change_department",
    "change_role",
    "change_sharing_rule",
    "change_team",
    "change_territory",
    "change_user",
    "check_department",
    "check_field_permissions",
    "check_manager",
    "check_object_permissions",
    "check_password",
    "check_role",
    "check_sharing_rule",
    "check_team",
    "check_territory",
    "check_user",
    "create_department",
    "create_role",
    "create_sharing_rule",
    "create_team",
    "create_territory",
    "create_user",
    "deactivate_user",
    "delete_department",
    "delete_role",
    "delete_sharing_rule",
    "delete_team",
    "delete_territory",
    "do_apply_user",
    "do_move_role",
    "do_place_role",
    "ensure_department",
    "reactivate_user",
    "record_fields",
    "reset_password",
    "set_field_permissions",
    "set_object_permissions",
    "set_sharing_default",
    "share_record",
    "unshare_record",
]
