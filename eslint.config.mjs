import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';
import tseslint from 'typescript-eslint';

const config = [
  ...nextVitals,
  ...nextTs,
  {
    ignores: ['node_modules/**', '.next/**', 'next-env.d.ts', 'playwright-report/**', 'test-results/**', 'lib/dtls-server/build/**'],
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The protocol library stays framework-free (DEVELOPERS.md): no Next.js, React or Prisma.
    files: ['lib/cpnp/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['next', 'next/*', 'react', 'react/*', 'react-dom', '@prisma/*', 'prisma', '@/app/*', '@/components/*'], message: 'lib/cpnp must stay framework-free' },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(...config);
