// SPDX-License-Identifier: MIT
package org.qsem;

/**
 * Thrown by an acquire on a closed semaphore, and to every thread that was
 * waiting when {@link Semaphore#close()} ran or the last handle was deleted.
 * Unchecked, like IllegalStateException, because closing is a lifecycle
 * event of the program rather than an expected outcome of one call.
 */
public class ClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /**
     * A ClosedException with a message.
     *
     * @param message what was closed
     */
    public ClosedException(String message) {
        super(message);
    }
}
