// SPDX-License-Identifier: MIT
// Thrown by a wait on a semaphore that is closed, or closes while waiting.
namespace Qsem {
  public class ClosedException : global::System.InvalidOperationException {
    public ClosedException() : base("qsem: semaphore is closed") {}
    public ClosedException(string message) : base(message) {}
    public ClosedException(string message, global::System.Exception inner) : base(message, inner) {}
  }
}
