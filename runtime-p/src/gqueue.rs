//! Intrusive queues of Gs linked through `g.schedlink`: port of `gQueue`
//! and `gList` (proc.go). A G is on at most one of them at a time; whoever
//! holds the queue owns the Gs on it.

use core::ptr::null_mut;

use runtime_g::G;

/// A FIFO of Gs (`gQueue`): push at either end, pop at the head.
#[derive(Debug)]
pub struct GQueue {
    pub head: *mut G,
    pub tail: *mut G,
    pub size: i32,
}

impl Default for GQueue {
    fn default() -> Self {
        GQueue {
            head: null_mut(),
            tail: null_mut(),
            size: 0,
        }
    }
}

impl GQueue {
    /// empty: whether the queue has no G.
    pub fn empty(&self) -> bool {
        self.head.is_null()
    }

    /// push: adds gp at the head.
    ///
    /// # Safety
    /// gp must be a live G on no other queue, owned by the caller.
    pub unsafe fn push(&mut self, gp: *mut G) {
        // SAFETY: the caller hands us ownership of gp's link.
        unsafe { (*gp).schedlink = self.head };
        self.head = gp;
        if self.tail.is_null() {
            self.tail = gp;
        }
        self.size += 1;
    }

    /// pushBack: adds gp at the tail.
    ///
    /// # Safety
    /// As for [`GQueue::push`].
    pub unsafe fn push_back(&mut self, gp: *mut G) {
        // SAFETY: the caller hands us ownership of gp's link; tail, if any,
        // is a G this queue owns.
        unsafe {
            (*gp).schedlink = null_mut();
            if self.tail.is_null() {
                self.head = gp;
            } else {
                (*self.tail).schedlink = gp;
            }
        }
        self.tail = gp;
        self.size += 1;
    }

    /// pushBackAll: moves all of `q2` to the tail of this queue.
    pub fn push_back_all(&mut self, q2: GQueue) {
        if q2.tail.is_null() {
            return;
        }
        if self.tail.is_null() {
            self.head = q2.head;
        } else {
            // SAFETY: tail is a G this queue owns.
            unsafe { (*self.tail).schedlink = q2.head };
        }
        self.tail = q2.tail;
        self.size += q2.size;
    }

    /// pop: removes and returns the head, or null.
    pub fn pop(&mut self) -> *mut G {
        let gp = self.head;
        if !gp.is_null() {
            // SAFETY: gp is a G this queue owns.
            unsafe {
                self.head = (*gp).schedlink;
                (*gp).schedlink = null_mut();
            }
            if self.head.is_null() {
                self.tail = null_mut();
            }
            self.size -= 1;
        }
        gp
    }
}
