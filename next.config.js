/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Native and generated database code stays outside the server bundle (loaded by Node).
  serverExternalPackages: ['better-sqlite3', '@prisma/adapter-better-sqlite3', '@prisma/driver-adapter-utils', '@prisma/client', 'node-dtls-client'],
};

export default nextConfig;
