"""Scripted replies for the sample suite: a stand-in for a real agent.

Teams often stub their voice agent like this before the real one exists: a table of what
to say in each scripted call. Replace `answer` with a call into your own agent.
Standard library only.
"""

import time

# test_id -> one reply per caller line, in order. A reply is a string, or a dict with
# "text" and optionally "end_call" (hang up after it) and "delay_s" (think first).
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
}


class Call:
    """One call: remembers which test it is for and how far it got."""

    def __init__(self, test_id):
        self.replies = SCRIPT.get(test_id, [])
        self.step = 0

    def answer(self, text):
        """The reply message (a dict) to the caller's `text`."""
        if self.step >= len(self.replies):
            return {"text": "Sorry, I did not catch that. Could you repeat it?"}
        reply = self.replies[self.step]
        self.step += 1
        if isinstance(reply, str):
            return {"text": reply}
        time.sleep(reply.get("delay_s", 0))
        message = {"text": reply["text"]}
        if reply.get("end_call"):
            message["end_call"] = True
        return message
