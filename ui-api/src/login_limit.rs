//! Limits on password logins: failures counted per user name and per client address, each
//! past its threshold locking that name or address out for a time that doubles with every
//! further failure; a bound on how many password checks (argon2, about 19 MiB each) run at
//! once; and a budget of audit rows for calls that showed no valid credential.
//!
//! Every call takes the time it happens at (`now`), so the rules are tested without sleeping.
//! Memory is bounded: at most `tracked` names and addresses are remembered, the one idle longest
//! is forgotten first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How logins are limited (`[auth]` `login_*` in the binary's config).
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// Failed logins in a row for one user name before it is locked out.
    pub max_failures_per_user: u32,
    /// Failed logins from one client address before it is locked out.
    pub max_failures_per_address: u32,
    /// The first lockout; each failure after it doubles the next one.
    pub lockout: Duration,
    /// The longest lockout; also how long failures are remembered after the last one.
    pub lockout_max: Duration,
    /// Password checks that may run at once.
    pub concurrent_checks: usize,
    /// How long a login waits for a check to be free before it is answered 503.
    pub queue_wait: Duration,
    /// The most user names and addresses whose failures are remembered.
    pub tracked: usize,
    /// Audit rows per minute for calls without a valid credential (failed logins, calls with
    /// no or a wrong token); the rest are counted and summed up in the next row written.
    pub unauthenticated_audit_per_minute: u32,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max_failures_per_user: 5,
            max_failures_per_address: 20,
            lockout: Duration::from_secs(60),
            lockout_max: Duration::from_secs(3600),
            concurrent_checks: 2,
            queue_wait: Duration::from_secs(5),
            tracked: 10_000,
            unauthenticated_audit_per_minute: 60,
        }
    }
}

/// What a failure count is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginKey {
    User(String),
    Address(IpAddr),
}

impl LoginKey {
    /// `user` or `address`, for messages and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            LoginKey::User(_) => "user",
            LoginKey::Address(_) => "address",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

/// A login refused because its user name or address is locked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub key: LoginKey,
    /// How long until it may try again.
    pub retry_after: Duration,
}

/// The limiter shared by every login of a node.
#[derive(Debug)]
pub struct LoginLimiter {
    policy: LoginPolicy,
    failures: Mutex<HashMap<LoginKey, Failures>>,
    checks: Arc<Semaphore>,
    in_flight: Arc<InFlight>,
    audit: Mutex<AuditBudget>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(LoginPolicy::default())
    }
}

impl LoginLimiter {
    pub fn new(policy: LoginPolicy) -> LoginLimiter {
        let checks = Arc::new(Semaphore::new(policy.concurrent_checks.max(1)));
        let audit = AuditBudget::new(policy.unauthenticated_audit_per_minute, Instant::now());
        LoginLimiter {
            policy,
            failures: Mutex::new(HashMap::new()),
            checks,
            in_flight: Arc::new(InFlight::default()),
            audit: Mutex::new(audit),
        }
    }

    pub fn policy(&self) -> &LoginPolicy {
        &self.policy
    }

    fn keys(user: &str, address: Option<IpAddr>) -> Vec<LoginKey> {
        let mut keys = vec![LoginKey::User(user.to_owned())];
        keys.extend(address.map(LoginKey::Address));
        keys
    }

    /// Refuse a login whose user name or address is locked out at `now`.
    pub fn check(&self, user: &str, address: Option<IpAddr>, now: Instant) -> Result<(), Locked> {
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        for key in Self::keys(user, address) {
            if let Some(until) = map.get(&key).and_then(|f| f.locked_until)
                && until > now
            {
                return Err(Locked {
                    key,
                    retry_after: until - now,
                });
            }
        }
        Ok(())
    }

    /// Count a failed login; the lockouts it starts (each is audited once).
    pub fn failed(&self, user: &str, address: Option<IpAddr>, now: Instant) -> Vec<Locked> {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let mut started = Vec::new();
        for key in Self::keys(user, address) {
            let threshold = match key {
                LoginKey::User(_) => self.policy.max_failures_per_user,
                LoginKey::Address(_) => self.policy.max_failures_per_address,
            };
            if !map.contains_key(&key) && map.len() >= self.policy.tracked.max(1) {
                evict_one(&mut map, now);
            }
            let f = map.entry(key.clone()).or_insert(Failures {
                count: 0,
                locked_until: None,
                last: now,
            });
            if now.saturating_duration_since(f.last) > self.policy.lockout_max {
                // Long quiet: start over.
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
            if f.count >= threshold.max(1) {
                let doublings = (f.count - threshold.max(1)).min(20);
                let lock = self
                    .policy
                    .lockout
                    .saturating_mul(1 << doublings)
                    .min(self.policy.lockout_max);
                f.locked_until = Some(now + lock);
                started.push(Locked {
                    key,
                    retry_after: lock,
                });
            }
        }
        started
    }

    /// A successful login forgets the user name's failures (not the address's: one good
    /// account does not buy more guesses at others).
    pub fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&LoginKey::User(user.to_owned()));
    }

    /// Names and addresses remembered now.
    pub fn tracked(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Wait (at most the policy's `queue_wait`) for a password check to be free; `None` when
    /// none was. The slot is held until dropped: move it into the blocking task that checks
    /// the password, so a caller that goes away does not free it early.
    pub async fn check_slot(&self) -> Option<CheckSlot> {
        let permit =
            tokio::time::timeout(self.policy.queue_wait, self.checks.clone().acquire_owned())
                .await
                .ok()?
                .ok()?;
        let in_flight = self.in_flight.clone();
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        let max = in_flight.max.fetch_max(now, Ordering::SeqCst).max(now);
        metrics::gauge!("onewall_api_login_checks_in_flight").set(now as f64);
        metrics::gauge!("onewall_api_login_checks_in_flight_max").set(max as f64);
        Some(CheckSlot {
            in_flight,
            _permit: permit,
        })
    }

    /// The most password checks that ran at once since the start.
    pub fn in_flight_max(&self) -> usize {
        self.in_flight.max.load(Ordering::SeqCst)
    }

    /// May a row for a call without a valid credential be written at `now`? `Some(n)` yes,
    /// `n` being how many were left out before it; `None` no (it is counted).
    pub fn unauthenticated_row(&self, now: Instant) -> Option<u64> {
        self.audit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(now)
    }
}

/// Password checks running now, and the most that ever ran at once.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// A running password check; dropping it frees the slot.
#[derive(Debug)]
pub struct CheckSlot {
    in_flight: Arc<InFlight>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for CheckSlot {
    fn drop(&mut self) {
        let now = self.in_flight.now.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("onewall_api_login_checks_in_flight").set(now as f64);
    }
}

/// Forget one entry: one not locked and idle longest, else the one idle longest.
fn evict_one(map: &mut HashMap<LoginKey, Failures>, now: Instant) {
    let unlocked = map
        .iter()
        .filter(|(_, f)| f.locked_until.is_none_or(|u| u <= now))
        .min_by_key(|(_, f)| f.last)
        .map(|(k, _)| k.clone());
    let victim = unlocked.or_else(|| {
        map.iter()
            .min_by_key(|(_, f)| f.last)
            .map(|(k, _)| k.clone())
    });
    if let Some(k) = victim {
        map.remove(&k);
    }
}

/// A token bucket of audit rows: `per_minute` at most in a burst, refilled evenly.
#[derive(Debug)]
struct AuditBudget {
    per_minute: u32,
    tokens: f64,
    at: Instant,
    suppressed: u64,
}

impl AuditBudget {
    fn new(per_minute: u32, now: Instant) -> AuditBudget {
        AuditBudget {
            per_minute,
            tokens: f64::from(per_minute),
            at: now,
            suppressed: 0,
        }
    }

    fn take(&mut self, now: Instant) -> Option<u64> {
        let cap = f64::from(self.per_minute);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * cap / 60.0).min(cap);
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            metrics::counter!("onewall_api_audit_suppressed_total").increment(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            max_failures_per_user: 3,
            max_failures_per_address: 5,
            lockout: Duration::from_secs(10),
            lockout_max: Duration::from_secs(60),
            tracked: 4,
            unauthenticated_audit_per_minute: 3,
            ..LoginPolicy::default()
        }
    }

    const ADDR: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)));

    #[test]
    fn a_user_is_locked_after_its_threshold_and_the_lockout_doubles() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        assert!(l.failed("zhang", ADDR, t0).is_empty());
        assert!(l.failed("zhang", ADDR, t0).is_empty());
        let started = l.failed("zhang", ADDR, t0);
        assert_eq!(
            started,
            [Locked {
                key: LoginKey::User("zhang".into()),
                retry_after: Duration::from_secs(10)
            }]
        );
        let locked = l
            .check("zhang", None, t0 + Duration::from_secs(4))
            .unwrap_err();
        assert_eq!(locked.retry_after, Duration::from_secs(6));
        // Another name from another address is not affected.
        assert!(l.check("li", None, t0).is_ok());
        let t1 = t0 + Duration::from_secs(10);
        assert!(l.check("zhang", None, t1).is_ok());
        let again = l.failed("zhang", None, t1);
        assert_eq!(again[0].retry_after, Duration::from_secs(20));
        let t2 = t1 + Duration::from_secs(20);
        assert_eq!(
            l.failed("zhang", None, t2)[0].retry_after,
            Duration::from_secs(40)
        );
        let t3 = t2 + Duration::from_secs(40);
        // Capped at lockout_max.
        assert_eq!(
            l.failed("zhang", None, t3)[0].retry_after,
            Duration::from_secs(60)
        );
        l.succeeded("zhang");
        assert!(l.check("zhang", None, t3).is_ok());
    }

    #[test]
    fn an_address_guessing_many_names_is_locked() {
        let l = LoginLimiter::new(LoginPolicy {
            tracked: 100,
            ..policy()
        });
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(l.failed(&format!("u{i}"), ADDR, t0).is_empty());
        }
        let started = l.failed("u9", ADDR, t0);
        assert_eq!(started[0].key, LoginKey::Address(ADDR.unwrap()));
        assert_eq!(
            l.check("someone-else", ADDR, t0).unwrap_err().key.kind(),
            "address"
        );
        // A success does not clear the address.
        l.succeeded("someone-else");
        assert!(l.check("someone-else", ADDR, t0).is_err());
    }

    #[test]
    fn memory_is_bounded_and_locked_entries_are_kept_longest() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            l.failed("locked", None, t0);
        }
        for i in 0..50 {
            l.failed(&format!("n{i}"), None, t0 + Duration::from_millis(i));
        }
        assert!(l.tracked() <= 4, "{}", l.tracked());
        assert!(
            l.check("locked", None, t0 + Duration::from_secs(1))
                .is_err()
        );
    }

    #[test]
    fn unauthenticated_rows_are_budgeted_and_the_rest_counted() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        assert_eq!(l.unauthenticated_row(t0), Some(0));
        assert_eq!(l.unauthenticated_row(t0), Some(0));
        assert_eq!(l.unauthenticated_row(t0), Some(0));
        for _ in 0..7 {
            assert_eq!(l.unauthenticated_row(t0), None);
        }
        // 3 a minute: one more after 20 s, carrying the count of those left out.
        assert_eq!(l.unauthenticated_row(t0 + Duration::from_secs(20)), Some(7));
        assert_eq!(l.unauthenticated_row(t0 + Duration::from_secs(20)), None);
    }

    #[tokio::test]
    async fn no_more_checks_run_than_allowed() {
        let l = std::sync::Arc::new(LoginLimiter::new(LoginPolicy {
            concurrent_checks: 2,
            queue_wait: Duration::from_secs(30),
            ..policy()
        }));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                let _slot = l.check_slot().await.unwrap();
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(l.in_flight_max(), 2);
    }

    #[tokio::test]
    async fn a_login_waiting_too_long_for_a_check_gets_none() {
        let l = LoginLimiter::new(LoginPolicy {
            concurrent_checks: 1,
            queue_wait: Duration::from_millis(100),
            ..policy()
        });
        let held = l.check_slot().await.unwrap();
        assert!(l.check_slot().await.is_none());
        drop(held);
        assert!(l.check_slot().await.is_some());
    }
}
