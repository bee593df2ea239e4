/*
 * expect { "METRIC OP VALUE", ... } (or one string): expectations checked
 * after the run (expect.h). Parsed in the sandbox child; the domain names
 * they mention are checked once every domain is declared.
 */
#include "loader.h"

#include <stdio.h>

int l_expect(lua_State *L)
{
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = call_line(L);
    char msg[MSG];
    bool one = lua_type(L, 1) == LUA_TSTRING;
    if (lua_gettop(L) != 1 || (!one && !lua_istable(L, 1)))
        fail(L, ld, line, "expect", "expected expect { \"METRIC OP VALUE\", ... }");
    lua_Integer n = one ? 1 : (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (!one)
            lua_rawgeti(L, 1, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            fail(L, ld, line, "expect", "entry %lld is not a string \"METRIC OP VALUE\"",
                 (long long)i);
        if (sc->nexpects >= SC_MAX_EXPECTS)
            fail(L, ld, line, "expect", "too many expectations (max %d)", SC_MAX_EXPECTS);
        struct sc_expect *e = &sc->expects[sc->nexpects];
        if (expect_parse(e, lua_tostring(L, -1), msg, sizeof msg) < 0)
            fail(L, ld, line, "expect", "%s", msg);
        snprintf(e->file, sizeof e->file, "%s", ld->cur_file[0] ? ld->cur_file : sc->path);
        e->line = line;
        sc->nexpects++;
        if (!one)
            lua_pop(L, 1);
    }
    return 0;
}

int check_expects(const struct scenario *sc, char *err, size_t errlen)
{
    const char *names[SC_MAX_DOMAINS + 1];
    char msg[MSG];
    for (int i = 0; i < sc->ndomains; i++)
        names[i] = sc->domains[i].name;
    names[sc->ndomains] = NULL;
    int i = expect_check_domains(sc->expects, sc->nexpects, names, msg, sizeof msg);
    if (i < 0)
        return 0;
    return errf(err, errlen, "%s:%d: expect: %s", sc->expects[i].file, sc->expects[i].line, msg);
}
