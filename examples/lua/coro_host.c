/* SPDX-License-Identifier: MIT */
/*
 * coro_host.c: a minimal coroutine host for qsem's Lua module.
 *
 *   qsem_lua_coro_host SCRIPT
 *
 * Runs many Lua coroutines on one OS thread with the host protocol of
 * docs/lua.md ("Any other host"):
 *
 *   1. mark each coroutine with qsem.hosted(co) before resuming it;
 *   2. a coroutine whose acquire must wait yields qsem.WAIT and a waiter w:
 *      park it until w:timeout() seconds have passed (nil: no deadline);
 *   3. poll qsem.pollfd() for reading, together with whatever else the host
 *      waits for, until the nearest deadline;
 *   4. when it is readable, call qsem.ready() and resume the coroutines it
 *      returns; resume the parked coroutines whose deadline has passed.
 *
 * Resuming a parked coroutine early is harmless: its acquire looks again
 * and yields again.  Any other yield is treated as "run me again later".
 *
 * SCRIPT returns { tasks = { function, ... }, check = function } (check is
 * optional and runs after every task has finished).
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime under -std=c11 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

enum { RUNNABLE, PARKED, DONE };

struct task {
    lua_State *co;
    int state;
    double deadline;   /* PARKED: monotonic seconds; < 0 for none */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(lua_State *L, const char *what)
{
    fprintf(stderr, "coro_host: %s: %s\n", what, lua_tostring(L, -1));
    exit(1);
}

/* Call qsem.<name>() with the value on top as its argument (or none), keep nres results. */
static void call_qsem(lua_State *L, int qsem, const char *name, int nargs, int nres)
{
    lua_getfield(L, qsem, name);
    lua_insert(L, -1 - nargs);
    if (lua_pcall(L, nargs, nres, 0) != LUA_OK)
        die(L, name);
}

/* Resume task t once and record what it asks for next. */
static void step(lua_State *L, struct task *t, const void *wait_sentinel)
{
    int nres;
    int status = lua_resume(t->co, L, 0, &nres);
    if (status == LUA_OK) {
        t->state = DONE;
        lua_pop(t->co, nres);
        return;
    }
    if (status != LUA_YIELD) {
        lua_xmove(t->co, L, 1);
        die(L, "task failed");
    }
    if (nres >= 2 && lua_touserdata(t->co, -nres) == wait_sentinel) {
        /* the waiter is the second value: ask it for the time left */
        lua_pushvalue(t->co, -nres + 1);
        lua_xmove(t->co, L, 1);
        lua_getfield(L, -1, "timeout");
        lua_insert(L, -2);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK)
            die(L, "w:timeout()");
        t->deadline = lua_isnil(L, -1) ? -1.0 : now() + lua_tonumber(L, -1);
        lua_pop(L, 1);
        t->state = PARKED;
    } else {
        t->state = RUNNABLE;   /* a plain yield: give the others a turn */
    }
    lua_pop(t->co, nres);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
        return 2;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);

    lua_getglobal(L, "require");
    lua_pushliteral(L, "qsem");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        die(L, "require \"qsem\"");
    int qsem = lua_gettop(L);
    lua_getfield(L, qsem, "WAIT");
    const void *wait_sentinel = lua_touserdata(L, -1);
    lua_pop(L, 1);

    if (luaL_dofile(L, argv[1]) != LUA_OK)
        die(L, argv[1]);
    int spec = lua_gettop(L);
    lua_getfield(L, spec, "tasks");
    int tasks = lua_gettop(L);
    int n = (int)luaL_len(L, tasks);

    /* index of each coroutine, to find its task from what qsem.ready() returns */
    lua_newtable(L);
    int index = lua_gettop(L);
    struct task *ts = calloc((size_t)n + 1, sizeof *ts);
    if (ts == NULL)
        return 1;
    for (int i = 1; i <= n; i++) {
        lua_State *co = lua_newthread(L);
        lua_pushvalue(L, -1);
        lua_pushinteger(L, i);
        lua_rawset(L, index);               /* index[co] = i; keeps co alive */
        call_qsem(L, qsem, "hosted", 1, 0);
        lua_rawgeti(L, tasks, i);
        lua_xmove(L, co, 1);                /* the body, resumed below */
        ts[i].co = co;
        ts[i].state = RUNNABLE;
    }

    call_qsem(L, qsem, "pollfd", 0, 1);
    int fd = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);

    int live = n, parked_max = 0;
    long resumes = 0;
    while (live > 0) {
        int runnable = 0, parked = 0;
        double nearest = -1.0;
        for (int i = 1; i <= n; i++) {
            if (ts[i].state == RUNNABLE) {
                step(L, &ts[i], wait_sentinel);
                resumes++;
                if (ts[i].state == DONE)
                    live--;
            }
            if (ts[i].state == RUNNABLE)
                runnable++;
            else if (ts[i].state == PARKED) {
                parked++;
                if (ts[i].deadline >= 0 && (nearest < 0 || ts[i].deadline < nearest))
                    nearest = ts[i].deadline;
            }
        }
        if (parked > parked_max)
            parked_max = parked;
        if (live == 0)
            break;

        int ms = -1;
        if (runnable > 0)
            ms = 0;
        else if (nearest >= 0) {
            double left = nearest - now();
            ms = left <= 0 ? 0 : (int)(left * 1000.0) + 1;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR) {
            perror("coro_host: poll");
            return 1;
        }
        if (r > 0) {
            call_qsem(L, qsem, "ready", 0, 1);
            int m = (int)luaL_len(L, -1);
            for (int k = 1; k <= m; k++) {
                lua_rawgeti(L, -1, k);
                lua_rawget(L, index);
                int i = (int)lua_tointeger(L, -1);
                lua_pop(L, 1);
                if (i > 0 && ts[i].state == PARKED)
                    ts[i].state = RUNNABLE;
            }
            lua_pop(L, 1);
        }
        double t = now();
        for (int i = 1; i <= n; i++)
            if (ts[i].state == PARKED && ts[i].deadline >= 0 && ts[i].deadline <= t)
                ts[i].state = RUNNABLE;
    }

    if (lua_getfield(L, spec, "check") == LUA_TFUNCTION) {
        if (lua_pcall(L, 0, 1, 0) != LUA_OK)
            die(L, "check");
        printf("coro_host: %s\n", luaL_optstring(L, -1, "ok"));
    }
    printf("coro_host: %d coroutines on one OS thread, %ld resumes, up to %d parked at once\n",
           n, resumes, parked_max);
    free(ts);
    lua_close(L);
    return 0;
}
