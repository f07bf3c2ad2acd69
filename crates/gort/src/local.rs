//! Goroutine-local storage: the safe replacement for `thread_local!` on
//! goroutines (Go has none; goroutines there never see thread-locals).

use core::any::Any;
use core::marker::PhantomData;

use runtime_g::Locals;

/// A value of which every goroutine has its own copy, created on first use
/// and dropped when the goroutine exits. Declare with
/// [`goroutine_local!`](crate::goroutine_local).
///
/// Unlike a `thread_local!`, the value follows the goroutine across threads,
/// so a reference obtained in [`with`](GoroutineLocal::with) stays valid
/// across parks.
pub struct GoroutineLocal<T: 'static> {
    init: fn() -> T,
    // Not Sync by itself: each goroutine gets its own T.
    _marker: PhantomData<fn() -> T>,
}

impl<T: 'static> GoroutineLocal<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> GoroutineLocal<T> {
        GoroutineLocal {
            init,
            _marker: PhantomData,
        }
    }

    /// Calls `f` with the current goroutine's value, creating it first if
    /// needed.
    ///
    /// # Panics
    /// Outside a goroutine of a gort runtime.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let gp = runtime_p::require_goroutine("goroutine_local");
        let key = self as *const Self as usize;
        // SAFETY: gp is the running goroutine, which alone owns its locals;
        // no reference to the map itself outlives this statement.
        let found = unsafe { (*gp).locals.as_ref().and_then(|l| l.get(key)) };
        let p = match found {
            Some(p) => p,
            None => {
                // init may use other goroutine-locals: run it before taking
                // the map.
                let v: Box<dyn Any> = Box::new((self.init)());
                // SAFETY: as above.
                unsafe {
                    (*gp)
                        .locals
                        .get_or_insert_with(|| Box::new(Locals::default()))
                        .insert(key, v)
                }
            }
        };
        // SAFETY: the allocation behind p stays put until the goroutine
        // exits, which cannot happen while `f` runs on it; it was created
        // from a T under this key (keys are addresses of distinct statics).
        let v = unsafe {
            p.as_ref()
                .downcast_ref::<T>()
                .expect("goroutine_local: type mismatch")
        };
        f(v)
    }
}

// SAFETY: the static itself holds only a fn pointer; each goroutine's T is
// reached only from that goroutine.
unsafe impl<T: 'static> Sync for GoroutineLocal<T> {}

/// Declares goroutine-local statics, as `thread_local!` declares
/// thread-locals:
///
/// ```no_run
/// use std::cell::Cell;
/// gort::goroutine_local! {
///     static COUNTER: Cell<u32> = Cell::new(0);
/// }
/// # gort::Builder::new().block_on(|| {
/// COUNTER.with(|c| c.set(c.get() + 1));
/// gort::gosched(); // in the migrating mode, may resume on another thread
/// assert_eq!(COUNTER.with(|c| c.get()), 1);
/// # })
/// ```
#[macro_export]
macro_rules! goroutine_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::GoroutineLocal<$t> = $crate::GoroutineLocal::new({
            fn __init() -> $t {
                $init
            }
            __init
        });
        $crate::goroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr) => {
        $crate::goroutine_local!($(#[$attr])* $vis static $name: $t = $init;);
    };
}
