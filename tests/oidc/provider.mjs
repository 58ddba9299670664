// A real OpenID provider for the single sign-on tests: the certified `oidc-provider`
// package, on 127.0.0.1 at a port the system picks. Prints one JSON line
// {"issuer": "http://127.0.0.1:PORT"} on standard output once it listens, and stops when
// standard input closes (so it never outlives the test that started it).
//
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI (the relying
// party's callback). The login form is oidc-provider's own development interaction: any
// login signs in as the account of that name (the provider makes it the subject), whose
// claims are sub = login, preferred_username = the login up to an "@", name = "User " + that.
// PKCE is required of every client, so the relying party must send a code challenge.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const clientId = process.env.OIDC_CLIENT_ID;
const clientSecret = process.env.OIDC_CLIENT_SECRET;
const redirectUri = process.env.OIDC_REDIRECT_URI;
if (!clientId || !clientSecret || !redirectUri) {
  console.error('set OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_REDIRECT_URI');
  process.exit(2);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          const short = id.split('@')[0];
          return { sub: id, preferred_username: short, name: `User ${short}` };
        },
      };
    },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
