// A real OpenID provider for Stigen's single sign-on tests: panva/oidc-provider (OpenID
// certified), configured from a JSON file the tests write, on 127.0.0.1:<port>.
//
//   node provider.mjs <config.json>    (the port in it is the issuer's: a free one)
//
// config.json: { "port": 8123, "jwks": {"keys": [<private JWK>]}, "clients": [...],
//                "accounts": {"<id>": {<claims>}} }
// The tests make the signing key, so they can also make tokens the provider's JWKS
// vouches for (wrong audience, expired) and check that Stigen refuses them.
//
// Signing in needs no form: the authorization request's login_hint names the account
// (the tests add it), and consent is given for Stigen as a first-party client.
// Prints "listening <issuer>" once it accepts connections.

import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;
const SCOPES = 'openid profile email groups';

const provider = new Provider(`http://127.0.0.1:${config.port}`, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: ['stigen-test-only'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  // The claims go in the ID token (as Entra ID puts groups there), not only userinfo.
  conformIdTokenClaims: false,
  // Every client must send PKCE (S256): a Stigen that did not would fail here.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // First party: consent is implied for the scopes asked for.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPES);
    grant.addOIDCClaims(['preferred_username', 'name', 'email', 'groups']);
    await grant.save();
    return grant;
  },
});

// The login "page": the account named by login_hint signs in at once.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const accountId = details.params.login_hint;
  const result = Object.hasOwn(accounts, accountId)
    ? { login: { accountId } }
    : { error: 'access_denied', error_description: 'unknown test account' };
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
