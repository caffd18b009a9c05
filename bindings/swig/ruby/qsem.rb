# SPDX-License-Identifier: MIT
# frozen_string_literal: true

# Qsem: a hardened counting semaphore.  This file adds the Ruby idioms to
# the SWIG extension (qsem.so): keyword options and a block form.
require "qsem.so"

module Qsem
  class Semaphore
    alias_method :__qsem_initialize, :initialize
    alias_method :__qsem_acquire, :acquire
    private :__qsem_initialize, :__qsem_acquire

    # Semaphore.new(initial = 0, max = VALUE_MAX, fair = false), or with the
    # options as keywords: Semaphore.new(0, max: 10, fair: true).
    def initialize(initial = 0, *rest, max: nil, fair: nil)
      raise ArgumentError, "wrong number of arguments (given #{rest.size + 1}, expected 0..3)" if rest.size > 2
      raise ArgumentError, "max given twice" if max && rest.size >= 1
      raise ArgumentError, "fair given twice" if !fair.nil? && rest.size >= 2
      __qsem_initialize(initial, rest.fetch(0, max || VALUE_MAX), rest.fetch(1, fair ? true : false))
    end

    # Take n tokens, waiting as long as it takes.  With a block, yield and
    # give the tokens back however the block ends, as concurrent-ruby's
    # Semaphore#acquire does.  Asynchronous interrupts (Thread#raise,
    # Thread#kill, Timeout) still end the wait, but are held back between
    # taking the tokens and entering the block, so none can fall in between
    # and lose them.
    def acquire(n = 1)
      return __qsem_acquire(n) unless block_given?

      Thread.handle_interrupt(Object => :on_blocking) do
        __qsem_acquire(n)
        begin
          Thread.handle_interrupt(Object => :immediate) { yield }
        ensure
          release(n)
        end
      end
    end

    # A copy is a second handle to the same semaphore, as dup_handle gives
    # (and as IO#dup gives a second descriptor of the same file): Object's
    # own dup and clone would copy the proxy without any handle in it.
    def dup
      dup_handle
    end

    def clone(freeze: nil)
      copy = dup_handle
      copy.freeze if freeze || (freeze.nil? && frozen?)
      copy
    end
  end
end
