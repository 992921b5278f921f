import type { Config } from 'jest';

// Jest loads this file through ts-node (a pinned devDependency): Node 20 cannot
// strip types by itself.
const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*-spec.ts'],
  // Integration specs run real handshakes on loopback; the default 5 s is too tight on 2 cores.
  testTimeout: 30_000,
  transform: {
    // Same pattern as the ts-jest preset, so this entry replaces it instead of adding a second one.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
};

export default config;
