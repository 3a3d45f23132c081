-- AlterTable
ALTER TABLE "Provider" ADD COLUMN "adminFile" TEXT;
