"""Sending a record to another department: a task for someone there, told exactly once,
and only about records the sender may see."""

from __future__ import annotations

import pytest

from accord.activities import services
from accord.activities.models import Notification, Task
from accord.core.errors import InvalidInput, NotFound
from accord.core.models import OutboxEvent, Source
from accord.identity.models import Access, Department, ObjectPermission, SharingDefault
from tests.web.fixtures import make_role, signed_in


@pytest.fixture
def service_dept(db):
    return Department.objects.create(name="Service", kind=Department.Kind.SERVICE)


@pytest.fixture
def agent(make_user, service_dept):
    return make_user(username="agnes", department=service_dept)


@pytest.fixture
def sender(make_user):
    return make_user(username="sven")


def test_the_chosen_person_gets_a_task_about_the_record_and_one_notification(
    sender, agent, service_dept, account
):
    task = services.send_to_department(
        actor=sender,
        record=account,
        department_id=service_dept.pk,
        assignee_id=agent.pk,
        message="Customer asks about the broken unit.\nSerial 4711.",
        source=Source.WEB,
    )
    task.refresh_from_db()
    assert (task.related_type, task.related_id) == ("account", account.pk)
    assert task.assignee == agent
    assert task.owner == agent
    assert task.subject == "Sent to Service by sven: Customer asks about the broken unit."
    assert task.description.endswith("Serial 4711.")
    assert OutboxEvent.objects.filter(type="accord.task.created", object_id=task.pk).count() == 1
    told = Notification.objects.filter(recipient=agent)
    assert told.count() == 1
    assert told.get().object_id == task.pk
    assert "Customer asks about the broken unit." in told.get().body


def test_without_a_person_the_department_lead_gets_it(sender, make_user, service_dept, account):
    lead_role = make_role("Head of service")
    agent_role = make_role("Agent", parent=lead_role)
    for role in (lead_role, agent_role):
        for object_type in ("account", "task"):
            ObjectPermission.objects.create(role=role, object_type=object_type, can_read=True)
    # "aaron" sorts first by name, but "zoe" sits higher in the role hierarchy.
    member = make_user(username="aaron", department=service_dept)
    lead = make_user(username="zoe", department=service_dept)
    lead.role, member.role = lead_role, agent_role
    lead.save()
    member.save()
    task = services.send_to_department(actor=sender, record=account, department_id=service_dept.pk)
    assert task.assignee == lead
    assert Notification.objects.filter(recipient=lead).count() == 1
    assert not Notification.objects.filter(recipient=member).exists()


def test_a_record_the_sender_cannot_see_cannot_be_sent(
    make_user, agent, service_dept, make_contact
):
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    owner, outsider = make_user(username="olga"), make_user(username="otto")
    hidden = make_contact(owner=owner)
    with pytest.raises(NotFound):
        services.send_to_department(
            actor=outsider, record=hidden, department_id=service_dept.pk, assignee_id=agent.pk
        )
    assert not Task.objects.exists()
    assert not Notification.objects.filter(recipient=agent).exists()


def test_bad_choices_are_refused_and_nothing_is_written(
    sender, make_user, agent, service_dept, account
):
    stranger = make_user(username="stan")  # in no department
    empty = Department.objects.create(name="Finance", kind=Department.Kind.FINANCE)
    cases = [
        ({"department_id": ""}, "department_id"),
        ({"department_id": "not-an-id"}, "department_id"),
        ({"department_id": service_dept.pk, "assignee_id": stranger.pk}, "assignee_id"),
        ({"department_id": empty.pk}, "department_id"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as raised:
            services.send_to_department(actor=sender, record=account, **kwargs)
        assert raised.value.errors[0].field == field
    assert not Task.objects.exists()
    assert not Notification.objects.exists()


def test_the_recipient_must_see_the_record(sender, agent, service_dept, make_contact):
    SharingDefault.objects.create(object_type="contact", access=Access.PRIVATE)
    mine = make_contact(owner=sender)
    with pytest.raises(InvalidInput) as raised:
        services.send_to_department(
            actor=sender, record=mine, department_id=service_dept.pk, assignee_id=agent.pk
        )
    assert "cannot see this contact" in raised.value.errors[0].message
    assert not Task.objects.exists()


@pytest.mark.usefixtures("fast_password_hashing")
def test_the_record_page_offers_the_quick_action_and_sends(sender, agent, service_dept, account):
    client = signed_in(sender)
    page = client.get(f"/records/account/{account.pk}/").content.decode()
    assert '<label for="handoff-department">Send to another department</label>' in page
    assert f'<option value="{agent.pk}">agnes</option>' in page
    response = client.post(
        f"/records/account/{account.pk}/activity",
        {
            "kind": "department",
            "department_id": service_dept.pk,
            "assignee_id": agent.pk,
            "message": "Please call them",
        },
        follow=True,
    )
    assert "Sent to agnes as a task." in response.content.decode()
    assert Task.objects.get().assignee == agent
    assert Notification.objects.filter(recipient=agent).count() == 1
    refused = client.post(
        f"/records/account/{account.pk}/activity", {"kind": "department"}, follow=True
    )
    assert "Department choose a department" in refused.content.decode()
    assert Task.objects.count() == 1
