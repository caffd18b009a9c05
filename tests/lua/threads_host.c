/* SPDX-License-Identifier: MIT */
/*
 * threads_host.c: one semaphore shared by Lua states on several pthreads.
 *
 *   lua_threads_host SCRIPT SCENARIO NTHREADS
 *
 * SCRIPT returns a table of scenarios; each scenario is a table of
 * functions that run in different Lua states:
 *
 *   setup(n)      in the main state, before the workers start
 *   worker(i, n)  in a fresh state on worker thread i (1..n), which closes
 *                 its state as soon as the function returns
 *   middle(n)     in the main state while the workers run; returning
 *                 "close" closes the main state there and then, before
 *                 any worker is done
 *   check(n)      in the main state after the workers, if still open
 *   after(n)      in a fresh state once every other state is closed
 *
 * Missing functions are skipped.  Any error is printed and the host exits
 * 1; on success it prints "N passed, 0 failed" like the busted suites.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

static const char *script;
static const char *scenario;
static int nthreads;

/* A state with the script's scenario table on top. */
static lua_State *open_state(void)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "threads_host: cannot create a Lua state\n");
        exit(1);
    }
    luaL_openlibs(L);
    if (luaL_dofile(L, script) != LUA_OK) {
        fprintf(stderr, "threads_host: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    if (lua_getfield(L, -1, scenario) != LUA_TTABLE) {
        fprintf(stderr, "threads_host: no scenario '%s' in %s\n", scenario, script);
        exit(1);
    }
    return L;
}

/* Run step `name` of the scenario on top of L's stack, if it has one:
 * -1 if absent, else 0 or 1 (the step returned "close"). */
static int run_step(lua_State *L, const char *name, int i)
{
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return -1;
    }
    lua_pushinteger(L, i);
    lua_pushinteger(L, nthreads);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        fprintf(stderr, "threads_host: %s %s(%d): %s\n", scenario, name, i, lua_tostring(L, -1));
        exit(1);
    }
    int close = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "close") == 0;
    lua_pop(L, 1);
    return close;
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    lua_State *L = open_state();
    run_step(L, "worker", i);
    lua_close(L);   /* as soon as this worker is done, on its own thread */
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s SCRIPT SCENARIO NTHREADS\n", argv[0]);
        return 2;
    }
    script = argv[1];
    scenario = argv[2];
    nthreads = atoi(argv[3]);
    if (nthreads < 1 || nthreads > 256) {
        fprintf(stderr, "threads_host: NTHREADS must be 1..256\n");
        return 2;
    }

    int steps = 0;
    lua_State *M = open_state();
    steps += run_step(M, "setup", 0) >= 0;

    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    if (tids == NULL)
        return 1;
    for (int i = 0; i < nthreads; i++) {
        int err = pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)(i + 1));
        if (err != 0) {
            fprintf(stderr, "threads_host: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    int r = run_step(M, "middle", 0);
    steps += r >= 0;
    if (r == 1) {
        lua_close(M);   /* the creator goes first; the workers carry on */
        M = NULL;
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    steps += nthreads;
    free(tids);
    if (M != NULL) {
        steps += run_step(M, "check", 0) >= 0;
        lua_close(M);
    }
    lua_State *F = open_state();
    steps += run_step(F, "after", 0) >= 0;
    lua_close(F);
    printf("threads_host %s: %d passed, 0 failed\n", scenario, steps);
    return 0;
}
