/**
 * `login`, `logout`, `whoami`: thin over lib/byterover/auth.
 *
 * `login --api-key [key]` takes the key from the flag's value, `-` (stdin), or, without a value,
 * from BYTEROVER_API_KEY / BRV_API_KEY (any configured `apiKey`), else stdin: a hidden prompt on a
 * TTY, the piped text otherwise. It is checked with IAM `user/me` before it is stored.
 * `login` without `--api-key` runs OAuth 2.0 authorization code + PKCE with a loopback callback,
 * printing the URL (and opening a browser when one exists).
 */
import type { CredentialSummary } from '../../byterover/auth/index.js';
import { ClawError } from '../../errors.js';
import { registerSecret } from '../../log/redact.js';
import type { CommandContext } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';
import { readSecret } from '../prompt.js';
import { CliErrorCode } from '../errors.js';
import { ConfigErrorCode } from '../../errors.js';

/** lib/byterover/auth and the services, loaded when an auth command runs (never for other commands). */
const authModules = () => Promise.all([import('../../byterover/auth/index.js'), import('../services.js')]);

interface LoginOptions extends Record<string, unknown> {
  apiKey?: string | true;
  clientCredentials?: boolean;
  browser: boolean;
}

const KIND_LABEL: Record<CredentialSummary['kind'], string> = {
  'api-key': 'API key',
  oauth: 'OAuth login',
  'client-credentials': 'client credentials',
};

function userLine(user: { id: string; email?: string | undefined; name?: string | undefined } | undefined): string {
  if (!user) return 'an unknown user';
  const who = user.name ? `${user.name}${user.email ? ` <${user.email}>` : ''}` : (user.email ?? user.id);
  return `${who} (id ${user.id})`;
}

function credentialData(c: CredentialSummary): Record<string, unknown> {
  return {
    kind: c.kind,
    refreshable: c.refreshable,
    ...(c.expiresAt ? { expiresAt: c.expiresAt } : {}),
    ...(c.scope ? { scope: c.scope } : {}),
    ...(c.issuer ? { issuer: c.issuer } : {}),
    updatedAt: c.updatedAt,
  };
}

/** The API key for `login --api-key`, from wherever the user put it. */
async function apiKeyFrom(ctx: CommandContext, flag: string | true): Promise<{ key: string; from: string }> {
  if (typeof flag === 'string' && flag !== '-') {
    registerSecret(flag);
    if (!ctx.out.json) {
      ctx.out.note(
        'note: a key given on the command line can be seen in the process list and shell history; prefer BYTEROVER_API_KEY or stdin next time.',
      );
    }
    return { key: flag, from: 'flag --api-key' };
  }
  if (flag === true) {
    const { config, sources } = await ctx.config();
    if (config.apiKey) return { key: config.apiKey, from: sources.apiKey ?? 'config apiKey' };
  }
  const key = await readSecret(ctx.io, 'ByteRover API key (input hidden): ', 'a ByteRover API key');
  return { key, from: 'stdin' };
}

async function login(ctx: CommandContext, opts: LoginOptions): Promise<CommandResult> {
  if (opts.apiKey !== undefined && opts.clientCredentials) {
    throw new ClawError(CliErrorCode.USAGE, 'Expected one login mode, found both --api-key and --client-credentials.', {
      hint: 'Pick one: `login` (browser), `login --api-key`, or `login --client-credentials`.',
    });
  }
  const [{ iamUserMeValidator, loginWithApiKey, loginWithClientCredentials, loginWithOAuth }, svc] =
    await authModules();
  const { clientCredentialsSettings, oauthIssuer, services } = svc;
  const { config, profile } = await ctx.config();
  const s = await services(ctx);
  const logger = await ctx.logger();
  const validate = iamUserMeValidator({
    http: s.http,
    iamBaseUrl: config.byterover.iamBaseUrl,
    timeoutMs: config.byterover.timeouts.iam,
  });

  let summary: CredentialSummary;
  let via: string;
  if (opts.apiKey !== undefined) {
    const { key, from } = await apiKeyFrom(ctx, opts.apiKey);
    summary = await loginWithApiKey({ apiKey: key, store: s.store, profile, validate });
    via = from;
  } else if (opts.clientCredentials) {
    const settings = clientCredentialsSettings(config);
    if (!settings) {
      throw new ClawError(
        ConfigErrorCode.CLIENT_CREDENTIALS_MISSING,
        'Expected clientCredentials.clientId and clientSecret in the configuration, found none.',
        {
          hint: 'Set CLAW_BYTEROVER_CLIENT_ID and CLAW_BYTEROVER_CLIENT_SECRET (and CLAW_BYTEROVER_OAUTH_ISSUER if the issuer is not ByteRover IAM).',
        },
      );
    }
    summary = await loginWithClientCredentials({ settings, store: s.store, profile, http: s.http, logger });
    via = 'client-credentials';
  } else {
    const out = ctx.out;
    const opener = opts.browser ? ctx.io.openUrl : undefined;
    summary = await loginWithOAuth({
      issuer: oauthIssuer(config),
      clientId: config.oauth.clientId,
      scopes: config.oauth.scope.split(/\s+/).filter(Boolean),
      offlineAccess: config.oauth.offlineAccess,
      store: s.store,
      profile,
      http: s.http,
      logger,
      timeoutMs: config.oauth.callbackTimeoutMs,
      signal: ctx.signal,
      openBrowser: opener ?? false,
      onAuthorizationUrl: (url, { browserOpened }) =>
        out.showUrl(
          browserOpened
            ? 'Opened your browser to log in to ByteRover. If it did not open, visit:'
            : 'To log in to ByteRover, open this URL in a browser on this machine:',
          url,
        ),
      lookupUser: (key) => validate(key),
    });
    via = 'oauth';
  }
  const path = s.store.credentialPath(profile);
  return {
    data: { profile, via, user: summary.user ?? null, credential: credentialData(summary), path },
    human: [
      `Logged in as ${userLine(summary.user)} with ${KIND_LABEL[summary.kind]} (profile "${profile}").`,
      `Credential saved, encrypted, to ${path}.`,
    ],
  };
}

async function logout(ctx: CommandContext): Promise<CommandResult> {
  const [{ logout: deleteCredential }, { services }] = await authModules();
  const { config, profile, sources } = await ctx.config();
  const s = await services(ctx);
  const path = s.store.credentialPath(profile);
  const had = await deleteCredential({ store: s.store, profile });
  const human = [
    had
      ? `Logged out (profile "${profile}"): removed ${path}.`
      : `Not logged in (profile "${profile}"): nothing to remove.`,
  ];
  if (config.apiKey)
    human.push(`note: an API key is still configured (${sources.apiKey}); commands keep using it until you remove it.`);
  return { data: { profile, removed: had, path, apiKeyStillConfigured: Boolean(config.apiKey) }, human };
}

async function whoami(ctx: CommandContext): Promise<CommandResult> {
  const { services } = await import('../services.js');
  const { profile } = await ctx.config();
  const s = await services(ctx);
  const user = await s.client.me({ signal: ctx.signal });
  const cred = await s.describeCredential();
  const credential = cred
    ? { source: s.credentialSource, ...credentialData(cred) }
    : { source: s.credentialSource, kind: 'api-key' };
  const how =
    cred === undefined
      ? `API key from ${s.credentialSource}`
      : `${KIND_LABEL[cred.kind]}${cred.expiresAt ? `, expires ${cred.expiresAt}${cred.refreshable ? ' (refreshable)' : ''}` : ''}`;
  return {
    data: { profile, user: { id: user.id, email: user.email, name: user.name ?? null }, credential },
    human: [userLine(user), `profile: ${profile} · credential: ${how}`],
  };
}

export const authCommands: CommandModule = (program, rt) => {
  program
    .command('login')
    .description('log in to ByteRover: OAuth in the browser (default) or an API key')
    .option(
      '--api-key [key]',
      'log in with an API key: the value, "-" for stdin, or no value for BYTEROVER_API_KEY / BRV_API_KEY / a hidden prompt',
    )
    .option(
      '--client-credentials',
      'log in as a service with the configured client id and secret (OAuth client credentials grant)',
    )
    .option('--no-browser', 'OAuth: only print the login URL, do not try to open a browser')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  claw-byterover login                          # browser login (OAuth 2.0 + PKCE)',
        '  claw-byterover login --api-key                # prompts (hidden) or reads BYTEROVER_API_KEY',
        '  printf %s "$KEY" | claw-byterover login --api-key -',
      ].join('\n'),
    )
    .action(rt.action<LoginOptions>(login));

  program.command('logout').description("delete this profile's stored credential").action(rt.action(logout));

  program
    .command('whoami')
    .description('show the signed-in user and the credential in use (checks it with ByteRover)')
    .action(rt.action(whoami));
};
