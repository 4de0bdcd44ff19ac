"""Scripted replies for the sample suite: a stand-in for a real agent.

Teams often stub their voice agent like this before the real one exists: a table of what
to say in each scripted call. Replace `Call.answer` with a call into your own agent.
`handle` is the one handler both example agents serve (`scripted_agent.py` as a program,
`http_agent.py` over HTTP), through the `voice_harness` package (standard library only).
"""

import os
import re
import sys
import time

try:
    import voice_harness
except ImportError:  # not installed: run from a clone, with the package from ./python
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "python"))
    import voice_harness

# test_id -> one reply per caller line, in order. A reply is a string, or a dict with
# "text" and optionally "end_call" (hang up after it), "delay_s" (think first) and "tools"
# (calls to make first, as [name, arguments]; the harness runs them against the case's
# mocks and sends each result back). "{Tool.path}" in the text is replaced by that value
# of the tool's result, so the agent says what the tool returned.
SCRIPT = {
    "billing_inquiry_v1": [
        "Let me review your account details.",
        "The extra charges are an overage from extra usage; let me explain them.",
        "I can offer a discount if you switch to a cheaper plan.",
    ],
    "appointment_booking_v1": [
        "Let me check our availability. Which date works for you?",
        "Morning slots it is. Please confirm 9 AM on that date.",
        "I will send a confirmation text right away.",
    ],
    "order_status_replay": [
        "I can check that order status for you. What is the order number?",
        "Order 5512 shipped yesterday and arrives Friday.",
        "You're welcome, have a good day.",
    ],
    "store_hours_exact": [
        "We're open 9 to 5, Monday to Friday!",
        "Yes: Saturday 10 to 2.",
    ],
    "cancellation_save_forbidden": [
        "I'm sorry to hear that. Let me see which plan options fit you better.",
        "I can offer a lower plan at half the price starting today.",
    ],
    "latency_budget_met": [
        "Sure, I can reset your password. I've sent a code to your phone.",
        "Done, your password is reset.",
    ],
    "disfluent_caller_booking": [
        "Of course. At what time would you like the table?",
        "Your table at 7 PM tomorrow is confirmed.",
        "Yes, I will send you a reminder.",
    ],
    "billing.refund.partial_refund": [
        "I can help with a refund. Which charge is it?",
        "I've issued a partial refund of 15 dollars for the duplicate charge.",
    ],
    # The negative cases: this agent reproduces the faults they are written to catch.
    "missing_keyword_fails": [
        "Let me review your account details.",
        "I can explain your usage this month.",
        "I can offer a discount on a cheaper plan.",
    ],
    "tone_marker_fails": ["Please don't get upset, I will look at the delivery."],
    "slow_agent_fails": [{"text": "Your balance is 42 dollars.", "delay_s": 1.6}],
    "agent_hangs_up_early": [{"text": "Hello! How can I help you today?", "end_call": True}],
    # Tool calls (cases/tools/): the harness answers them from the case's mocks.
    "tools_restaurant_booking": [
        {
            "text": "Sorry, seven is full. I can do seven thirty or eight.",
            "tools": [["CheckAvailability", {"time": "19:00", "party_size": 4}]],
        },
        {
            "text": "You're booked for four at seven thirty. Your confirmation number is "
            "{ReserveRestaurant.confirmation}.",
            "tools": [
                ["CheckAvailability", {"time": "19:30", "party_size": 4}],
                ["ReserveRestaurant", {"time": "19:30", "party_size": 4, "name": "Dana"}],
            ],
        },
    ],
    "tools_no_transfer_for_a_refund": [
        {
            "text": "Your refund is on its way, reference {IssueRefund.refund_id}.",
            "tools": [["IssueRefund", {"amount": 12.5}]],
        },
    ],
    # Voice events (cases/voice/): silence and keypad tones are answered like lines; an
    # empty text after them says nothing.
    "voice_reprompt_after_silence": [
        "Sure. Which day would you like the appointment?",
        "Are you still there? Which day works for you?",
        "Friday at nine it is. See you then.",
    ],
    "voice_never_reprompts": [
        "Sure. Which day would you like the appointment?",
        "",
        "Friday at nine it is.",
    ],
    "voice_pin_by_keypad": [
        "Please enter your four-digit PIN, then the hash key.",
        "Thank you, you're verified.",
        "",
    ],
    "voice_interrupts_disclaimer": [
        "This call is recorded for quality. Our terms of service apply to every order, and you "
        "can ask for a copy at any time.",
        "Of course, let me look up your order.",
    ],
    # Hearing (cases/hearing/): what the agent hears may differ from what was said.
    "hearing_noisy_line": ["Sure, for how many people?", "A table for two at seven. Booked!"],
    "hearing_spoken_numbers": [
        "Order five five one two shipped yesterday.",
        "Your delivery window starts at eleven thirty, and the total was twelve hundred and "
        "forty dollars.",
        "Your callback number is four oh eight, five five five, oh one double oh.",
    ],
    "hearing_keyword_alternatives": [
        "You're booked for nine in the morning on Tuesday.",
        "Your reference is AB-4471.",
    ],
    "hearing_pinned_line": ["Booked: a table for four at seven."],
    "sweep_disfluent_callers": [
        "Sure, let's move your appointment. Which day?",
        "Thursday afternoon works. Done.",
    ],
    # Callers that follow rules (cases/rules/): this agent asks in its own order.
    "rules_booking_in_any_order": [
        "Happy to help. What time would you like?",
        "And how many people will there be?",
        {
            "text": "You're booked for four at seven, confirmation "
            "{ReserveRestaurant.confirmation}. Anything else?",
            "tools": [["ReserveRestaurant", {"party_size": 4, "time": "19:00"}]],
        },
    ],
    "rules_hangs_up_after_confusion": [
        "Please read me your account number.",
        "I need your account number first.",
        "Your account number, please?",
    ],
    "tools_order_lookup_unmatched": [
        "Sure, what is the order number?",
        {"text": "I could not find that order.", "tools": [["lookup_order", {"order_id": "5513"}]]},
    ],
}


class Call:
    """One call: remembers which test it is for and how far it got."""

    def __init__(self, test_id):
        self.replies = SCRIPT.get(test_id, [])
        self.step = 0

    def answer(self, tool):
        """The reply to the caller's next line. `tool(name, arguments)` runs one of the
        case's tool mocks and returns its result (voice_harness's `event.tool`)."""
        if self.step >= len(self.replies):
            return "Sorry, I did not catch that. Could you repeat it?"
        reply = self.replies[self.step]
        self.step += 1
        if isinstance(reply, str):
            return reply
        time.sleep(reply.get("delay_s", 0))
        results = {}
        for name, arguments in reply.get("tools", []):
            results[name] = tool(name, arguments)

        def value(match):
            result = results.get(match.group(1)) or {}
            return str(result.get(match.group(2), "?"))

        message = {"text": re.sub(r"\{(\w+)\.(\w+)\}", value, reply["text"])}
        if reply.get("end_call"):
            message["end_call"] = True
        return message


CALLS = {}


def handle(event):
    """The handler for `voice_harness.serve` and `serve_http`: one `Call` per call_id.

    Silence and keypad tones are answered like lines, in order; a line after a barge-in has
    "interrupted": {"heard": ...}, which this script does not need.
    """
    kind, call_id = event["event"], event["call_id"]
    if kind == "start":
        CALLS[call_id] = Call(event["test_id"])
        print(f"call {call_id} started", file=sys.stderr)
    elif kind == "end":
        CALLS.pop(call_id, None)
    elif kind in ("user", "silence", "dtmf"):
        if call_id not in CALLS:
            raise voice_harness.AgentError(f"no start event for call {call_id!r}")
        return CALLS[call_id].answer(event.tool)
