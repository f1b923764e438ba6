//! Work over a batch split across two threads.
//!
//! The node's detect stage and the embedded store's row encoding both do per-item work whose
//! result depends on the item alone: on a large batch the second half runs on a thread of its
//! own while this one does the first, so a batch uses both cores.

/// Run `work` over `items`. A slice of at least `at` items is cut in two halves, the second
/// run on a scoped thread of its own, and both results are returned in order; a shorter slice
/// is worked here alone (`None` second). When no thread can be had, this one does both
/// halves. `thread` names the second thread (it shows in profiles). A panic in either half is
/// raised here, as one in a single pass would be.
pub fn in_halves<T, R, F>(thread: &str, items: &[T], at: usize, work: F) -> (R, Option<R>)
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    if items.len() < at {
        return (work(items), None);
    }
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        let other = std::thread::Builder::new()
            .name(thread.into())
            .spawn_scoped(s, || work(second));
        let head = work(first);
        let tail = match other {
            Ok(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(_) => work(second),
        };
        (head, Some(tail))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_are_worked_in_order_and_short_slices_alone() {
        let items: Vec<u32> = (0..10).collect();
        let sum = |s: &[u32]| s.iter().sum::<u32>();
        assert_eq!(in_halves("t", &items, 11, sum), (45, None));
        assert_eq!(in_halves("t", &items, 10, sum), (10, Some(35)));
        let copy = |s: &[u32]| s.to_vec();
        let (a, b) = in_halves("t", &items, 2, copy);
        assert_eq!([a, b.expect("second half")].concat(), items);
        assert_eq!(in_halves("t", &[] as &[u32], 0, sum), (0, Some(0)));
    }

    #[test]
    fn a_panic_in_the_second_half_is_raised_here() {
        let items = [1, 2, 3, 4];
        let caught = std::panic::catch_unwind(|| {
            in_halves("t", &items, 2, |s: &[i32]| assert!(!s.contains(&4), "four"))
        });
        assert!(caught.is_err());
    }
}
