-- MySQL dump 10.13  Distrib 8.0.36 (trimmed, mysqldump style)

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!50503 SET NAMES utf8mb4 */;

DROP TABLE IF EXISTS `author`;
CREATE TABLE `author` (
  `id` int NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL COMMENT 'display name; may contain ;',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES `author` WRITE;
INSERT INTO `author` VALUES (1,'Zoë O\'Brien'),(2,'semi;colon'),(3,'back\\slash');
UNLOCK TABLES;

DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `author_bi` BEFORE INSERT ON `author` FOR EACH ROW BEGIN
  IF NEW.name = '' THEN
    SET NEW.name = 'anonymous';
  END IF;
END */;;
DELIMITER ;

# a routine written without DELIMITER
CREATE DEFINER=`root`@`%` PROCEDURE `rename_all`(IN suffix VARCHAR(10))
BEGIN
  DECLARE done INT DEFAULT FALSE;
  DECLARE a_id INT;
  DECLARE cur CURSOR FOR SELECT id FROM author;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = TRUE;
  OPEN cur;
  read_loop: LOOP
    FETCH cur INTO a_id;
    IF done THEN
      LEAVE read_loop;
    END IF;
    UPDATE author SET name = CONCAT(name, suffix) WHERE id = a_id;
  END LOOP;
  CLOSE cur;
END;

/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
-- Dump completed
