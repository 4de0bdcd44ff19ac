//! Binding your own Rust agent to a folder of cases: this file is the whole test target
//! (`harness = false` in Cargo.toml). Each `.json` under `tests/custom_agent/cases/` becomes a
//! test that calls `PizzaBot`; snapshots go to `tests/custom_agent/snapshots/`.

use std::time::Duration;

use voice_harness::{Agent, AgentError, CallerLine, Reply, RunOptions, appears_in};

/// A toy phone agent for a pizza shop. Real agents would call a model or a dialogue engine.
#[derive(Default)]
struct PizzaBot {
    order: Vec<String>,
}

impl Agent for PizzaBot {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        // "Thinking" time: virtual, so the test is instant and the latency is exactly 180 ms.
        tokio::time::sleep(Duration::from_millis(180)).await;
        let said = line.text;
        let reply = if appears_in("catering", said) {
            // A big order: the kitchen takes 12 s to quote, past the default 10 s timeout,
            // which is why this target sets `options` below.
            tokio::time::sleep(Duration::from_secs(12)).await;
            "Catering for 40 is 480 dollars.".to_owned()
        } else if appears_in("menu", said) {
            "Today we have margherita, pepperoni and a veggie special.".to_owned()
        } else if let Some(pizza) = ["margherita", "pepperoni", "veggie"]
            .into_iter()
            .find(|p| appears_in(p, said))
        {
            self.order.push(pizza.to_owned());
            format!("One {pizza} added. Anything else?")
        } else if appears_in("that's all", said) || appears_in("that is all", said) {
            let total = self.order.len() * 12;
            return Ok(Reply::SayAndHangUp(format!(
                "Your total is {total} dollars. Thank you, goodbye!"
            )));
        } else {
            "Sorry, could you repeat that?".to_owned()
        };
        Ok(Reply::Say(reply))
    }
}

voice_harness::harness!(
    root = "tests/custom_agent/cases",
    snapshots = "tests/custom_agent/snapshots",
    agent = |_case| PizzaBot::default(),
    // The kitchen is slow to quote catering: allow 30 s a turn (virtual, so still instant).
    options = RunOptions::default().with_turn_timeout(Duration::from_secs(30)),
);
