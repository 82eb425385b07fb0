// Import direction, enforced (npm test runs `npm run lint`). The core (agent/model, agent/rules,
// agent/multus, agent/runtime) never imports an adapter folder or an adapter library; only the
// app (agent/app: main, cli, bin) wires adapters to the core; no source file is part of an import
// cycle. See docs/architecture.md.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Libraries that talk to the world: only adapters (collectors, exporters) and the app may load them. */
const ADAPTER_LIBRARIES = ['netlink', 'pino', 'prom-client', 'yaml', 'undici', 'systeminformation', '@kubernetes/*', '@grpc/*'];

const forbid = (...groups) => [
  'error',
  {
    // Bare library names as exact paths (a pattern 'netlink' would also match collectors/netlink/...).
    paths: groups.flatMap(({ names = [], message }) => names.map((name) => ({ name, message }))),
    patterns: groups.filter((g) => g.group).map(({ group, message }) => ({ group, message })),
  },
];

/**
 * The product talks to the kube API through collectors/kube/kube-client.ts: client-node's
 * KubeConfig alone loads its whole generated API (~70 MB RSS). Tests may use it to judge the
 * test apiserver against the real library.
 */
const CLIENT_NODE = { names: ['@kubernetes/client-node'], group: ['@kubernetes/client-node/*'], message: 'the product uses collectors/kube/kube-client.ts, not @kubernetes/client-node (70 MB of RSS; see docs/performance.md)' };
/**
 * The product asks the kubelet and the container runtime over collectors/grpc/ (node:http2 and
 * hand-written codecs); grpc-js and proto-loader are devDependencies for the test servers, which
 * hold those codecs to protobufjs.
 */
const GRPC = { names: ['@grpc/grpc-js', '@grpc/proto-loader'], group: ['@grpc/*'], message: 'the product uses collectors/grpc/unary-client.ts, not @grpc/* (devDependencies for the test servers; see docs/performance.md)' };
const ADAPTERS = { group: ['**/collectors/**', '**/exporters/**', '**/lab/**'], message: 'the core does not import adapters: define a port in agent/model and wire it in agent/app' };
const LIBRARIES = { names: ADAPTER_LIBRARIES.filter((l) => !l.includes('*')), group: ADAPTER_LIBRARIES.filter((l) => l.includes('*')), message: 'adapter libraries belong in collectors/ or exporters/, not in the core' };
const APP = { group: ['**/app/**', '../app/*', './app/*'], message: 'only bin.ts imports the app' };
const RUNTIME = { group: ['**/runtime/**', '../runtime/*'], message: 'rules and the model are pure: they do not import the runtime' };
const RULES = { group: ['**/rules/**', '../rules/*', '**/multus/**', '../multus/*'], message: 'the model is types and ports only: it imports nothing but the model' };
/** Node.js modules that do I/O (node:net stays allowed in the rules: its isIP is pure). */
const IO_MODULES = ['fs', 'fs/*', 'child_process', 'http', 'https', 'dgram', 'os'];
const NO_IO = { group: [...IO_MODULES, ...IO_MODULES.map((m) => `node:${m}`)], message: 'the rules do no I/O: the runtime and the adapters read the world' };
const NO_NODE = { group: ['node:*', 'net', ...IO_MODULES], message: 'the model is types and ports: it imports no Node.js module' };

export default [
  { ignores: ['dist/**', 'node_modules/**', '**/testdata/**', 'chart/**'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { 'import-x': importX },
    settings: { 'import-x/extensions': ['.ts', '.js'], 'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] }, 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      // Every cycle, however long, type-only imports included.
      'import-x/no-cycle': ['error', { maxDepth: Infinity, ignoreExternal: true }],
    },
  },
  { files: ['agent/model/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': forbid(ADAPTERS, LIBRARIES, APP, RUNTIME, RULES, NO_NODE) } },
  { files: ['agent/rules/**/*.ts', 'agent/multus/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': forbid(ADAPTERS, LIBRARIES, APP, RUNTIME, NO_IO) } },
  { files: ['agent/runtime/**/*.ts'], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': forbid(ADAPTERS, LIBRARIES, APP) } },
  {
    // The production entry point never loads the lab (a developer tool, lab/bin.ts, not shipped).
    files: ['agent/app/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': forbid({ group: ['**/lab/**'], message: 'the agent does not load the lab: it is run by lab/bin.ts (npm run lab), and not shipped' }, CLIENT_NODE, GRPC) },
  },
  {
    files: ['collectors/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': forbid({ group: ['**/exporters/**', '**/lab/**', '**/agent/app/**', '**/agent/runtime/**'], message: 'collectors read: they implement ports of agent/model and use agent/rules, nothing else of ours' }, CLIENT_NODE, GRPC) },
  },
  {
    files: ['exporters/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [CLIENT_NODE, GRPC].flatMap(({ names, message }) => names.map((name) => ({ name, message }))),
          patterns: [
            { group: CLIENT_NODE.group, message: CLIENT_NODE.message },
            { group: GRPC.group, message: GRPC.message },
            { group: ['**/lab/**', '**/agent/app/**'], message: 'exporters do not import the app or the lab' },
            {
              // Exporters format: the verdicts come judged in the snapshot's assessment (agent/rules/assess.ts).
              group: ['**/agent/rules/**', '**/agent/runtime/**', '**/agent/multus/**'],
              message: 'exporters format the snapshot and its assessment (agent/model): they call no rule and no runtime; add what they need to the Assessment',
            },
            {
              // The kube client plumbing (kubeconfig, the client, its errors) is shared by both sides.
              regex: '/collectors/(?!kube/(kube-config|kube-client|api-call)\\.js$)',
              message: 'exporters write and format: they take the snapshot and assessment from the core, not from collectors',
            },
          ],
        },
      ],
    },
  },
];
